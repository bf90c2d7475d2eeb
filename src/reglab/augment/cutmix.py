"""CutMix (Yun et al. 2019): paste a box from another image, mix labels by the pasted area.

Yun, Han, Oh, Chun, Choe & Yoo 2019, "CutMix: Regularization Strategy to Train Strong Classifiers
with Localizable Features", ICCV, arXiv:1905.04899. One box per batch: ``lam0 ~ Beta(alpha,
alpha)``, sides ``H * sqrt(1 - lam0)`` by ``W * sqrt(1 - lam0)``, centre uniform over the image;
the box is clipped to the image and the label weight is corrected to the area actually pasted::

    x_mixed = x with x[perm]'s box pasted in
    lam     = 1 - pasted_pixels / (H * W)
    y_soft  = lam * y + (1 - lam) * y[perm]
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from reglab._validate import check_positive
from reglab.augment.base import BatchTransform
from reglab.augment.params import apply_mix, sample_cutmix_params
from reglab.augment.targets import check_batch, check_num_classes, to_soft_targets
from reglab.registry import register

__all__ = ["cutmix", "CutMix"]


def cutmix(
    x: Tensor,
    y: Tensor,
    alpha: float = 1.0,
    num_classes: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Paste a random box from a permutation of the batch (Yun et al. 2019, arXiv:1905.04899).

    Args:
        x: images ``(N, C, H, W)``, floating point. Not modified.
        y: class indices ``(N,)`` (needs ``num_classes``) or one-hot/soft targets ``(N, C)``.
        alpha: the Beta(alpha, alpha) concentration, ``> 0``; the paper used 1.0 (box area
            uniform). Defaults to 1.0.
        num_classes: number of classes; required when ``y`` holds class indices. Defaults to None.
        generator: the random source of the area, the box centre and the pairing. Defaults to
            None (PyTorch's global CPU generator).

    Returns:
        ``(x_mixed, y_soft)``; ``y_soft``'s partner weight is exactly the pasted-pixel fraction.

    Raises:
        ValueError: bad ``alpha``, ``x`` not a 4-D floating tensor, ``y`` of the wrong shape,
            class indices without ``num_classes`` or outside its range.
    """
    alpha = check_positive("alpha", alpha)
    check_batch(x, image=True)
    n, _, height, width = x.shape
    y_soft = to_soft_targets(y, num_classes, n, x.dtype)
    return apply_mix(x, y_soft, sample_cutmix_params(n, height, width, alpha, generator))


@register("cutmix")
class CutMix(BatchTransform):
    """Batch transform form of :func:`cutmix`: ``CutMix(alpha, num_classes)(x, y, generator)``.

    Args:
        alpha: Beta(alpha, alpha) concentration, ``> 0``. Defaults to 1.0.
        num_classes: number of classes, required for class-index labels. Defaults to None.
    """

    def __init__(self, alpha: float = 1.0, num_classes: int | None = None) -> None:
        self.alpha = check_positive("alpha", alpha)
        self.num_classes = check_num_classes(num_classes)

    def __call__(self, x: Tensor, y: Any, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        return cutmix(x, y, self.alpha, self.num_classes, generator)

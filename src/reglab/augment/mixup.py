"""Mixup (Zhang et al. 2018): train on convex combinations of pairs of examples and their labels.

Zhang, Cisse, Dauphin & Lopez-Paz 2018, "mixup: Beyond Empirical Risk Minimization", ICLR,
arXiv:1710.09412. One ``lam ~ Beta(alpha, alpha)`` per batch; each sample is paired with another
through a random permutation of the batch (as in the authors' code)::

    x_mixed = lam * x + (1 - lam) * x[perm]
    y_soft  = lam * y + (1 - lam) * y[perm]

Train on ``y_soft`` with a soft-target loss (:func:`reglab.losses.soft_target_cross_entropy` or
:class:`reglab.losses.LabelSmoothingCrossEntropy`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from reglab._validate import check_positive
from reglab.augment.base import BatchTransform
from reglab.augment.params import apply_mix, sample_mixup_params
from reglab.augment.targets import check_batch, check_num_classes, to_soft_targets
from reglab.registry import register

__all__ = ["mixup", "Mixup"]


def mixup(
    x: Tensor,
    y: Tensor,
    alpha: float = 0.2,
    num_classes: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """Mix a batch with a permutation of itself (Zhang et al. 2018, arXiv:1710.09412).

    Args:
        x: inputs ``(N, ...)``, floating point. Not modified.
        y: class indices ``(N,)`` (needs ``num_classes``) or one-hot/soft targets ``(N, C)``.
        alpha: the Beta(alpha, alpha) concentration, ``> 0``; small values keep ``lam`` near 0
            or 1 (the paper used 0.1-0.4 on ImageNet, 1.0 on CIFAR-10). Defaults to 0.2.
        num_classes: number of classes; required when ``y`` holds class indices. Defaults to None.
        generator: the random source of ``lam`` and the pairing (sampled as described in
            :mod:`reglab.augment.sampling`). Defaults to None (PyTorch's global CPU generator).

    Returns:
        ``(x_mixed, y_soft)`` with ``y_soft`` of shape ``(N, C)`` (float, rows sum to 1 when
        ``y``'s rows do).

    Raises:
        ValueError: bad ``alpha``, ``x`` not a floating tensor with a batch dimension, ``y`` of
            the wrong shape, class indices without ``num_classes`` or outside its range.
    """
    alpha = check_positive("alpha", alpha)
    check_batch(x)
    y_soft = to_soft_targets(y, num_classes, x.shape[0], x.dtype)
    return apply_mix(x, y_soft, sample_mixup_params(x.shape[0], alpha, generator))


@register("mixup")
class Mixup(BatchTransform):
    """Batch transform form of :func:`mixup`: ``Mixup(alpha, num_classes)(x, y, generator)``.

    Args:
        alpha: Beta(alpha, alpha) concentration, ``> 0``. Defaults to 0.2.
        num_classes: number of classes, required for class-index labels. Defaults to None.
    """

    def __init__(self, alpha: float = 0.2, num_classes: int | None = None) -> None:
        self.alpha = check_positive("alpha", alpha)
        self.num_classes = check_num_classes(num_classes)

    def __call__(self, x: Tensor, y: Any, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        return mixup(x, y, self.alpha, self.num_classes, generator)

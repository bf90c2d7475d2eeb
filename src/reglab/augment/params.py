"""Per-batch mixing parameters: drawn once (``sample_*_params``), then applied (:func:`apply_mix`).

The split follows torchvision's ``_get_params``/``_transform``: all randomness of one batch is
drawn up front with the caller's ``torch.Generator``, and applying the parameters is
deterministic. A test (or a user) can draw the parameters with a seeded generator and check the
mixed batch against the formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from reglab.augment.sampling import beta_values, generator_device

__all__ = ["MixParams", "sample_mixup_params", "sample_cutmix_params", "apply_mix"]


@dataclass(frozen=True)
class MixParams:
    """What to do to one batch.

    Attributes:
        lam: the weight of each sample's own label in its mixed target (1.0: untouched). For
            CutMix it is the exact fraction of pixels kept, after clipping the box to the image.
        perm: the partner of each sample (``x_mixed[i]`` mixes ``x[i]`` with ``x[perm[i]]``), or
            None when the batch is not mixed.
        box: CutMix's pasted region ``(top, bottom, left, right)`` (rows ``top:bottom``, columns
            ``left:right``), or None for mixup.
    """

    lam: float
    perm: Tensor | None = None
    box: tuple[int, int, int, int] | None = None

    @property
    def mode(self) -> str:
        """``'none'``, ``'mixup'`` or ``'cutmix'``."""
        if self.perm is None:
            return "none"
        return "mixup" if self.box is None else "cutmix"


def _permutation(batch_size: int, generator: torch.Generator | None) -> Tensor:
    return torch.randperm(batch_size, generator=generator, device=generator_device(generator))


def sample_mixup_params(batch_size: int, alpha: float, generator: torch.Generator | None = None) -> MixParams:
    """``lam ~ Beta(alpha, alpha)`` then a random pairing (a permutation of the batch).

    Draw order (fixed, so a seed reproduces it): the Beta variate, then the permutation.
    ``alpha`` is assumed validated (``> 0``).
    """
    (lam,) = beta_values(alpha, alpha, 1, generator)
    return MixParams(lam=lam, perm=_permutation(batch_size, generator))


def sample_cutmix_params(
    batch_size: int, height: int, width: int, alpha: float, generator: torch.Generator | None = None
) -> MixParams:
    """Yun et al. 2019's box: area fraction ``1 - lam0`` with ``lam0 ~ Beta(alpha, alpha)``.

    The box has sides ``int(H * sqrt(1 - lam0))`` and ``int(W * sqrt(1 - lam0))`` around a centre
    drawn uniformly over the pixels, so it may hang over the border; it is clipped to the image and
    the returned ``lam`` is the exact fraction of pixels kept, ``1 - area / (H * W)``. Draw order:
    the Beta variate, the centre row, the centre column, the permutation.
    """
    (lam0,) = beta_values(alpha, alpha, 1, generator)
    device = generator_device(generator)
    ratio = math.sqrt(1.0 - lam0)
    cut_h, cut_w = int(height * ratio), int(width * ratio)
    cy = int(torch.randint(height, (), generator=generator, device=device))
    cx = int(torch.randint(width, (), generator=generator, device=device))
    top, left = cy - cut_h // 2, cx - cut_w // 2
    top, bottom = max(top, 0), min(top + cut_h, height)
    left, right = max(left, 0), min(left + cut_w, width)
    area = max(bottom - top, 0) * max(right - left, 0)
    lam = (height * width - area) / (height * width)
    return MixParams(lam=lam, perm=_permutation(batch_size, generator), box=(top, bottom, left, right))


def apply_mix(x: Tensor, y_soft: Tensor, params: MixParams) -> tuple[Tensor, Tensor]:
    """Apply drawn parameters: ``(x_mixed, lam * y + (1 - lam) * y[perm])``.

    Mixup: ``x_mixed = lam * x + (1 - lam) * x[perm]``. CutMix: ``x_mixed`` is ``x`` with the box
    of every image replaced by the same box of its partner. Inputs are not modified.
    """
    if params.perm is None:
        return x, y_soft
    lam = params.lam
    perm = params.perm.to(x.device)
    if params.box is None:
        x_mixed = x.mul(lam).add_(x[perm], alpha=1.0 - lam)
    else:
        top, bottom, left, right = params.box
        x_mixed = x.clone()
        x_mixed[:, :, top:bottom, left:right] = x[perm, :, top:bottom, left:right]
    perm_y = perm if perm.device == y_soft.device else perm.to(y_soft.device)
    y_mixed = y_soft.mul(lam).add_(y_soft[perm_y], alpha=1.0 - lam)
    return x_mixed, y_mixed

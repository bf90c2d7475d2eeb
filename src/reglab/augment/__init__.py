"""Batch-level augmentation that regularizes: mixup, CutMix, their per-batch mix, cutout.

- :func:`mixup` / :class:`Mixup` (``"mixup"``): Zhang et al. 2018, arXiv:1710.09412.
- :func:`cutmix` / :class:`CutMix` (``"cutmix"``): Yun et al. 2019, arXiv:1905.04899.
- :class:`MixupCutmix` (``"mixup_cutmix"``): one of the two per batch, with label smoothing.
- :func:`cutout` / :class:`Cutout` (``"cutout"``): DeVries & Taylor 2017, arXiv:1708.04552.

Every transform takes a ``torch.Generator``; the Beta variates are drawn with it too
(:func:`sample_beta`), so a seeded generator reproduces a batch exactly. The transform objects are
called on ``(x, y)`` and return ``(x, y_out)``; mixing ones return soft targets ``(N, C)``.
"""

from __future__ import annotations

from reglab.augment.base import BatchTransform
from reglab.augment.cutmix import CutMix, cutmix
from reglab.augment.cutout import Cutout, cutout, cutout_mask
from reglab.augment.mixup import Mixup, mixup
from reglab.augment.mixup_cutmix import MixupCutmix
from reglab.augment.params import MixParams, apply_mix, sample_cutmix_params, sample_mixup_params
from reglab.augment.sampling import sample_beta
from reglab.augment.targets import to_soft_targets

__all__ = [
    "mixup",
    "cutmix",
    "cutout",
    "cutout_mask",
    "Mixup",
    "CutMix",
    "MixupCutmix",
    "Cutout",
    "BatchTransform",
    "MixParams",
    "sample_mixup_params",
    "sample_cutmix_params",
    "apply_mix",
    "sample_beta",
    "to_soft_targets",
]

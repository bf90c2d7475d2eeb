"""Batch-level augmentation that regularizes: per-modality augmentations and batch mixing.

Per modality (one draw per sample, on the batch's device, from the caller's generator; each a
function plus a :class:`BatchTransform` registered by name): signals and time series
(:mod:`reglab.augment.signal`), images (:mod:`reglab.augment.image`; warps and colour need kornia,
``reglab[augment]``), token ids with padding (:mod:`reglab.augment.text`) and audio
(:mod:`reglab.augment.audio`). :class:`Pipeline` chains transforms (augmentation, then mixing);
:func:`resolve_policy` builds a named policy (``"shift"``, ``"crop_flip"``, ``"auto"``) for a dataset
and refuses those that would change its labels.

Mixing:

- :func:`mixup` / :class:`Mixup` (``"mixup"``): Zhang et al. 2018, arXiv:1710.09412.
- :func:`cutmix` / :class:`CutMix` (``"cutmix"``): Yun et al. 2019, arXiv:1905.04899.
- :class:`MixupCutmix` (``"mixup_cutmix"``): one of the two per batch, with label smoothing.
- :func:`cutout` / :class:`Cutout` (``"cutout"``): DeVries & Taylor 2017, arXiv:1708.04552.

Every transform takes a ``torch.Generator``; the Beta variates are drawn with it too
(:func:`sample_beta`), so a seeded generator reproduces a batch exactly. The transform objects are
called on ``(x, y)`` and return ``(x, y_out)``; mixing ones return soft targets ``(N, C)``.
"""

from __future__ import annotations

from reglab.augment.audio import (
    Gain, NoiseSNR, SpecAugment, SpeedPerturb, TimeShift, add_noise_snr, gain, spec_augment, speed_perturb, time_shift,
)
from reglab.augment.base import BatchTransform, LabelPreserving
from reglab.augment.cutmix import CutMix, cutmix
from reglab.augment.cutout import Cutout, cutout, cutout_mask
from reglab.augment.mixup import Mixup, mixup
from reglab.augment.mixup_cutmix import MixupCutmix
from reglab.augment.image import (
    ColorJitter, HorizontalFlip, RandomAffine, RandomCrop, RandomErasing, TrivialAugment, color_jitter,
    horizontal_flip, random_affine, random_crop, random_erasing, trivial_augment,
)
from reglab.augment.params import MixParams, apply_mix, sample_cutmix_params, sample_mixup_params
from reglab.augment.pipeline import Compose, Pipeline
from reglab.augment.policies import POLICIES, resolve_policy
from reglab.augment.sampling import sample_beta
from reglab.augment.signal import (
    Cutout1d, Jitter, RandomCropResize1d, RandomScale, RandomShift, TimeStretch, cutout_1d, jitter,
    random_crop_resize, random_scale, random_shift, shift_signal, time_stretch,
)
from reglab.augment.targets import to_soft_targets
from reglab.augment.text import (
    EmbeddingMixup, RandomDeletion, RandomInsertion, RandomSwap, SynonymReplacement, TokenMask,
    random_deletion, random_insertion, random_swap, synonym_replacement, token_mask,
)

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
    "LabelPreserving",
    "Pipeline",
    "Compose",
    "POLICIES",
    "resolve_policy",
    # signals
    "shift_signal", "random_shift", "random_scale", "jitter", "time_stretch", "random_crop_resize", "cutout_1d",
    "RandomShift", "RandomScale", "Jitter", "TimeStretch", "RandomCropResize1d", "Cutout1d",
    # images
    "random_crop", "horizontal_flip", "random_affine", "color_jitter", "random_erasing", "trivial_augment",
    "RandomCrop", "HorizontalFlip", "RandomAffine", "ColorJitter", "RandomErasing", "TrivialAugment",
    # text
    "random_deletion", "random_swap", "random_insertion", "token_mask", "synonym_replacement",
    "RandomDeletion", "RandomSwap", "RandomInsertion", "TokenMask", "SynonymReplacement", "EmbeddingMixup",
    # audio
    "time_shift", "gain", "add_noise_snr", "speed_perturb", "spec_augment",
    "TimeShift", "Gain", "NoiseSNR", "SpeedPerturb", "SpecAugment",
]

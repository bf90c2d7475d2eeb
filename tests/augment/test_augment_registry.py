"""Every batch transform reglab.augment registers builds by name and round-trips its config."""

from __future__ import annotations

import pytest

import reglab
from reglab import augment as A
from reglab.augment import BatchTransform, Cutout, CutMix, Mixup, MixupCutmix
from reglab.registry import Configurable, lookup

KWARGS = {
    "mixup": (Mixup, {"alpha": 0.4, "num_classes": 10}),
    "cutmix": (CutMix, {"alpha": 0.5, "num_classes": 3}),
    "mixup_cutmix": (
        MixupCutmix,
        {"mixup_alpha": 0.2, "cutmix_alpha": 0.7, "switch_prob": 0.25, "prob": 0.9, "label_smoothing": 0.1, "num_classes": 5},
    ),
    "cutout": (Cutout, {"size": 8}),
    "random_shift": (A.RandomShift, {"max_shift": 3, "mode": "zero"}),
    "random_scale": (A.RandomScale, {"sigma": 0.2}),
    "jitter": (A.Jitter, {"sigma": 0.05}),
    "time_stretch": (A.TimeStretch, {"max_stretch": 0.1}),
    "random_crop_resize_1d": (A.RandomCropResize1d, {"min_scale": 0.7}),
    "cutout_1d": (A.Cutout1d, {"size": 5}),
    "random_crop": (A.RandomCrop, {"padding": 2, "fill": 0.5}),
    "horizontal_flip": (A.HorizontalFlip, {"p": 0.25}),
    "random_affine": (A.RandomAffine, {"degrees": 5.0, "translate": 0.1, "scale": 0.1, "shear": 2.0, "fill": 0.0}),
    "color_jitter": (A.ColorJitter, {"brightness": 0.1, "contrast": 0.3, "saturation": 0.2, "hue": 0.05}),
    "random_erasing": (A.RandomErasing, {"p": 0.4, "scale": (0.05, 0.2), "ratio": (0.5, 2.0), "value": 1.0}),
    "trivial_augment": (A.TrivialAugment, {"num_bins": 11, "fill": 0.0}),
    "random_deletion": (A.RandomDeletion, {"p": 0.2, "pad_id": 1}),
    "random_swap": (A.RandomSwap, {"n_swaps": 2, "pad_id": 0}),
    "random_insertion": (A.RandomInsertion, {"vocab_size": 50, "n_insert": 2, "pad_id": 0}),
    "token_mask": (A.TokenMask, {"mask_id": 3, "p": 0.15, "pad_id": 0}),
    "synonym_replacement": (A.SynonymReplacement, {"synonyms": {4: [5, 6]}, "p": 0.3, "pad_id": 0}),
    "time_shift": (A.TimeShift, {"max_shift": 100, "mode": "circular"}),
    "gain": (A.Gain, {"min_db": -3.0, "max_db": 3.0}),
    "noise_snr": (A.NoiseSNR, {"min_snr": 5.0, "max_snr": 20.0}),
    "speed_perturb": (A.SpeedPerturb, {"factors": (0.95, 1.05)}),
    "spec_augment": (A.SpecAugment, {"freq_mask": 8, "time_mask": 20, "n_freq_masks": 2, "n_time_masks": 2, "mask_value": 0.0}),
}


def test_every_augment_class_is_registered_and_covered_here():
    registered = {name for name in reglab.available() if lookup(name).__module__.startswith("reglab.augment.")}
    assert registered == set(KWARGS) | {"pipeline"}


def test_pipeline_is_registered_and_round_trips_its_transforms():
    shift, mix = A.RandomShift(2), Mixup(0.2, num_classes=3)
    pipe = reglab.get("pipeline", transforms=[shift, mix])
    assert type(pipe) is A.Pipeline and A.Compose is A.Pipeline
    assert pipe.get_config() == {"transforms": [shift, mix]}
    assert repr(A.Pipeline.from_config(pipe.get_config())) == repr(pipe) == (
        "Pipeline([RandomShift(max_shift=2, mode='circular'), Mixup(alpha=0.2, num_classes=3)])"
    )


@pytest.mark.parametrize("name", sorted(KWARGS))
def test_get_builds_and_config_round_trips(name):
    cls, kwargs = KWARGS[name]
    transform = reglab.get(name, **kwargs)
    assert type(transform) is cls and cls.registry_name == name
    assert isinstance(transform, BatchTransform) and isinstance(transform, Configurable)
    assert transform.get_config() == kwargs
    rebuilt = cls.from_config(transform.get_config())
    assert rebuilt.get_config() == kwargs
    assert repr(rebuilt) == repr(transform) == f"{cls.__name__}(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"

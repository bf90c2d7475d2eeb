"""Every batch transform reglab.augment registers builds by name and round-trips its config."""

from __future__ import annotations

import pytest

import reglab
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
}


def test_every_augment_class_is_registered_and_covered_here():
    registered = {name for name in reglab.available() if lookup(name).__module__.startswith("reglab.augment.")}
    assert registered == set(KWARGS)


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

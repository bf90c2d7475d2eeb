"""Every loss module reglab.losses registers builds by name and round-trips its config."""

from __future__ import annotations

import pytest
from torch import nn

import reglab
from reglab.losses import DistillationLoss, LabelSmoothingCrossEntropy
from reglab.registry import Configurable, lookup

KWARGS = {
    "label_smoothing": (LabelSmoothingCrossEntropy, {"smoothing": 0.2, "reduction": "sum", "ignore_index": 3}),
    "distillation": (DistillationLoss, {"temperature": 2.0, "alpha": 0.5}),
}


def test_every_loss_is_registered_and_covered_here():
    registered = {name for name in reglab.available() if lookup(name).__module__.startswith("reglab.losses.")}
    assert registered == set(KWARGS)


@pytest.mark.parametrize("name", sorted(KWARGS))
def test_get_builds_and_config_round_trips(name):
    cls, kwargs = KWARGS[name]
    loss_fn = reglab.get(name, **kwargs)
    assert type(loss_fn) is cls and cls.registry_name == name
    assert isinstance(loss_fn, nn.Module) and isinstance(loss_fn, Configurable)
    assert loss_fn.get_config() == kwargs
    rebuilt = cls.from_config(kwargs)
    assert rebuilt.get_config() == kwargs and repr(rebuilt) == repr(loss_fn)

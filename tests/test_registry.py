"""reglab.get / available / lookup and the config round trip of every registered reglab.nn module."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import reglab
import reglab.nn as RN
from reglab.registry import Configurable, lookup

# Non-default arguments for every module reglab.nn registers.
NN_KWARGS = {
    "dropout": {"p": 0.2, "mode": "classic"},
    "spatial_dropout": {"p": 0.3},
    "gaussian_dropout": {"p": 0.4},
    "alpha_dropout": {"p": 0.05},
    "locked_dropout": {"p": 0.25, "batch_first": False},
    "drop_connect": {"in_features": 3, "out_features": 2, "p": 0.1, "bias": False},
    "drop_path": {"p": 0.2, "mode": "batch", "scale_by_keep": False},
    "drop_block": {"p": 0.15, "block_size": 5, "per_channel": False},
    "gaussian_noise": {"std": 0.3},
    "weight_noise": {"module": nn.Linear(2, 2), "std": 0.02, "names": ("weight", "bias")},
}
CLASSES = {
    "dropout": RN.Dropout,
    "spatial_dropout": RN.SpatialDropout,
    "gaussian_dropout": RN.GaussianDropout,
    "alpha_dropout": RN.AlphaDropout,
    "locked_dropout": RN.LockedDropout,
    "drop_connect": RN.DropConnect,
    "drop_path": RN.DropPath,
    "drop_block": RN.DropBlock2d,
    "gaussian_noise": RN.GaussianNoise,
    "weight_noise": RN.WeightNoise,
}


def test_every_nn_module_is_registered_and_covered_here():
    registered = {name for name in reglab.available() if lookup(name).__module__.startswith("reglab.nn.")}
    assert registered == set(NN_KWARGS)
    for name, cls in CLASSES.items():
        assert lookup(name) is cls
        assert cls.registry_name == name


def test_available_is_sorted_and_lists_the_modules():
    names = reglab.available()
    assert names == sorted(names)
    assert set(CLASSES) <= set(names)


@pytest.mark.parametrize("name", sorted(NN_KWARGS))
def test_get_builds_with_kwargs_and_config_round_trips(name):
    kwargs = NN_KWARGS[name]
    module = reglab.get(name, **kwargs)
    assert type(module) is CLASSES[name]
    assert isinstance(module, nn.Module) and isinstance(module, Configurable)
    config = module.get_config()
    assert config == kwargs
    rebuilt = type(module).from_config(config)
    assert rebuilt.get_config() == config
    assert repr(rebuilt) == repr(module)


def test_get_example_from_the_docs():
    module = reglab.get("drop_path", p=0.1)
    assert repr(module) == "DropPath(p=0.1, mode='row', scale_by_keep=True)"
    x = torch.randn(4, 3)
    assert module.eval()(x) is x


def test_get_passes_argument_errors_through():
    with pytest.raises(ValueError) as exc:
        reglab.get("dropout", p=1.5)
    assert str(exc.value) == "Invalid value for argument `p`. Expected a number in [0, 1]. Received: p=1.5"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError) as exc:
        reglab.get("dropuot", p=0.1)
    known = ", ".join(repr(n) for n in reglab.available())
    assert str(exc.value) == f"Invalid value for argument `name`. Expected one of {known}. Received: name='dropuot'"
    assert "'dropout'" in known and "'drop_path'" in known


@pytest.mark.parametrize("name", sorted(set(NN_KWARGS) - {"weight_noise"}))
def test_configs_are_plain_json_values(name):
    config = reglab.get(name, **NN_KWARGS[name]).get_config()
    assert json.loads(json.dumps(config)) == config

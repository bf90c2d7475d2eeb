"""reglab.nn modules: forward == functional, eval behaviour, repr, config round trip, errors."""

from __future__ import annotations

import pytest
import torch

import reglab.functional as RF
import reglab.nn as RN

# (module, input shape, the same computation through reglab.functional)
CASES = [
    (RN.Dropout(0.3), (6, 7), lambda x, t: RF.dropout(x, 0.3, training=t)),
    (RN.Dropout(0.3, "classic"), (6, 7), lambda x, t: RF.dropout(x, 0.3, "classic", training=t)),
    (RN.SpatialDropout(0.4), (4, 8, 5, 5), lambda x, t: RF.spatial_dropout(x, 0.4, training=t)),
    (RN.GaussianDropout(0.2), (6, 7), lambda x, t: RF.gaussian_dropout(x, 0.2, training=t)),
    (RN.AlphaDropout(0.2), (6, 7), lambda x, t: RF.alpha_dropout(x, 0.2, training=t)),
    (RN.LockedDropout(0.5, batch_first=False), (5, 4, 3), lambda x, t: RF.locked_dropout(x, 0.5, False, training=t)),
    (RN.DropPath(0.5, "row", False), (6, 3), lambda x, t: RF.drop_path(x, 0.5, "row", False, training=t)),
    (RN.DropPath(0.5, "batch"), (6, 3), lambda x, t: RF.drop_path(x, 0.5, "batch", training=t)),
    (RN.DropBlock2d(0.2, 3, False), (2, 3, 9, 9), lambda x, t: RF.drop_block(x, 0.2, 3, False, training=t)),
    (RN.GaussianNoise(0.5), (6, 7), lambda x, t: RF.gaussian_noise(x, 0.5, training=t)),
]
IDS = [f"{type(m).__name__}({m.extra_repr()})" for m, _, _ in CASES]


@pytest.mark.parametrize(("module", "shape", "fn"), CASES, ids=IDS)
def test_forward_is_the_functional_with_self_training(module, shape, fn):
    x = torch.randn(shape)
    module.train()
    torch.manual_seed(123)
    got = module(x)
    torch.manual_seed(123)
    want = fn(x, True)
    assert torch.equal(got, want)
    assert not torch.equal(got, x)
    module.eval()
    assert torch.equal(module(x), fn(x, False))
    module.train()


@pytest.mark.parametrize(("module", "shape", "fn"), CASES, ids=IDS)
def test_config_round_trip(module, shape, fn):
    config = module.get_config()
    rebuilt = type(module).from_config(config)
    assert rebuilt.get_config() == config
    assert repr(rebuilt) == repr(module)


def test_reprs():
    assert repr(RN.Dropout(0.2)) == "Dropout(p=0.2, mode='inverted')"
    assert repr(RN.SpatialDropout(0.1)) == "SpatialDropout(p=0.1)"
    assert repr(RN.GaussianDropout(0.5)) == "GaussianDropout(p=0.5)"
    assert repr(RN.AlphaDropout(0.05)) == "AlphaDropout(p=0.05)"
    assert repr(RN.LockedDropout(0.3)) == "LockedDropout(p=0.3, batch_first=True)"
    assert repr(RN.DropPath(0.1)) == "DropPath(p=0.1, mode='row', scale_by_keep=True)"
    assert repr(RN.DropBlock2d()) == "DropBlock2d(p=0.1, block_size=7, per_channel=True)"
    assert repr(RN.GaussianNoise()) == "GaussianNoise(std=0.1)"
    assert repr(RN.DropConnect(4, 3, 0.25)) == "DropConnect(in_features=4, out_features=3, bias=True, p=0.25)"


def test_defaults_and_attributes():
    assert RN.Dropout().get_config() == {"p": 0.5, "mode": "inverted"}
    assert RN.DropPath().get_config() == {"p": 0.1, "mode": "row", "scale_by_keep": True}
    assert RN.DropBlock2d().get_config() == {"p": 0.1, "block_size": 7, "per_channel": True}
    assert RN.LockedDropout().get_config() == {"p": 0.5, "batch_first": True}
    assert RN.GaussianNoise().get_config() == {"std": 0.1}
    assert RN.DropConnect(2, 3, bias=False).get_config() == {"in_features": 2, "out_features": 3, "p": 0.5, "bias": False}


def test_inverted_modules_are_identity_in_eval():
    x = torch.randn(2, 3, 8, 8)
    for module in (RN.Dropout(0.5), RN.SpatialDropout(0.5), RN.GaussianDropout(0.5), RN.AlphaDropout(0.5),
                   RN.DropPath(0.5), RN.DropBlock2d(0.5, 3), RN.GaussianNoise(1.0)):
        assert module.eval()(x) is x


def test_classic_dropout_eval_scales():
    x = torch.randn(3, 3)
    torch.testing.assert_close(RN.Dropout(0.2, "classic").eval()(x), x * 0.8, rtol=0, atol=0)


P_MESSAGE = "Invalid value for argument `p`. Expected a number in [0, 1]. Received: p={}"
P_BELOW_ONE = "Invalid value for argument `p`. Expected a number in [0, 1). Received: p={}"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RN.Dropout(1.5), P_MESSAGE.format("1.5")),
        (lambda: RN.Dropout(0.5, "Inverted"),
         "Invalid value for argument `mode`. Expected one of 'inverted', 'classic'. Received: mode='Inverted'"),
        (lambda: RN.SpatialDropout(-0.5), P_MESSAGE.format("-0.5")),
        (lambda: RN.GaussianDropout(1.0), P_BELOW_ONE.format("1.0")),
        (lambda: RN.AlphaDropout(1), P_BELOW_ONE.format("1")),
        (lambda: RN.LockedDropout("0.1"), P_MESSAGE.format("'0.1'")),
        (lambda: RN.LockedDropout(0.1, batch_first="yes"),
         "Invalid value for argument `batch_first`. Expected one of True, False. Received: batch_first='yes'"),
        (lambda: RN.DropPath(2), P_MESSAGE.format("2")),
        (lambda: RN.DropPath(0.1, "layer"),
         "Invalid value for argument `mode`. Expected one of 'row', 'batch'. Received: mode='layer'"),
        (lambda: RN.DropPath(0.1, scale_by_keep=None),
         "Invalid value for argument `scale_by_keep`. Expected one of True, False. Received: scale_by_keep=None"),
        (lambda: RN.DropBlock2d(0.1, 0),
         "Invalid value for argument `block_size`. Expected an integer >= 1. Received: block_size=0"),
        (lambda: RN.DropBlock2d(0.1, 3, per_channel="no"),
         "Invalid value for argument `per_channel`. Expected one of True, False. Received: per_channel='no'"),
        (lambda: RN.GaussianNoise(-1),
         "Invalid value for argument `std`. Expected a number in [0, inf). Received: std=-1"),
        (lambda: RN.DropConnect(0, 3),
         "Invalid value for argument `in_features`. Expected an integer >= 1. Received: in_features=0"),
        (lambda: RN.DropConnect(3, 2.0),
         "Invalid value for argument `out_features`. Expected an integer >= 1. Received: out_features=2.0"),
        (lambda: RN.DropConnect(3, 2, 1.1), P_MESSAGE.format("1.1")),
        (lambda: RN.DropConnect(3, 2, 0.1, bias="yes"),
         "Invalid value for argument `bias`. Expected one of True, False. Received: bias='yes'"),
    ],
)
def test_init_validates(build, message):
    with pytest.raises(ValueError) as exc:
        build()
    assert str(exc.value) == message


@pytest.mark.parametrize("training", [True, False])
def test_function_validates_again_after_attribute_change(training):
    module = RN.Dropout(0.5)
    module.p = 3.0
    module.train(training)
    with pytest.raises(ValueError) as exc:
        module(torch.ones(2))
    assert str(exc.value) == P_MESSAGE.format("3.0")


def test_spatial_dropout_module_checks_ndim():
    with pytest.raises(ValueError) as exc:
        RN.SpatialDropout(0.5)(torch.ones(2, 3))
    assert str(exc.value) == (
        "Invalid value for argument `input`. Expected a tensor with 3, 4 or 5 dimensions. "
        "Received: input.ndim=2 (shape (2, 3))"
    )


def test_drop_block_module_checks_block_size_against_input():
    with pytest.raises(ValueError) as exc:
        RN.DropBlock2d(0.1, 7).eval()(torch.ones(1, 1, 6, 6))
    assert str(exc.value) == (
        "Invalid value for argument `block_size`. Expected an integer in [1, 6] (the feature map is 6x6). "
        "Received: block_size=7"
    )


def test_modules_have_no_parameters_or_buffers():
    for module, _, _ in CASES:
        assert list(module.parameters()) == [] and list(module.buffers()) == []

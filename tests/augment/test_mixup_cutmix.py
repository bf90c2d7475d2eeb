"""MixupCutmix: draws its parameters once per batch, mixes with the right frequencies."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import reglab
from reglab.augment import MixupCutmix, apply_mix


def _batch(n=6, c=4, h=8, w=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, h, w, generator=g), torch.randint(0, c, (n,), generator=g)


def test_call_equals_get_params_then_apply_with_smoothing():
    x, y = _batch()
    transform = MixupCutmix(label_smoothing=0.1, num_classes=4)
    smoothed = F.one_hot(y, 4).float() * 0.9 + 0.1 / 4
    modes = set()
    for seed in range(30):
        params = transform.get_params(x, torch.Generator().manual_seed(seed))
        x_mixed, y_soft = transform(x, y, torch.Generator().manual_seed(seed))
        ref_x, ref_y = apply_mix(x, smoothed, params)
        assert torch.equal(x_mixed, ref_x) and torch.equal(y_soft, ref_y)
        torch.testing.assert_close(y_soft, params.lam * smoothed + (1 - params.lam) * smoothed[params.perm])
        torch.testing.assert_close(y_soft.sum(1), torch.ones(6))
        modes.add(params.mode)
    assert modes == {"mixup", "cutmix"}


def test_switch_probability_frequency():
    """CutMix is chosen with probability switch_prob: binomial count within 4 standard deviations."""
    x, _ = _batch()
    trials, p = 600, 0.3
    transform = MixupCutmix(switch_prob=p, num_classes=4)
    cutmixes = sum(transform.get_params(x, torch.Generator().manual_seed(s)).mode == "cutmix" for s in range(trials))
    assert abs(cutmixes - trials * p) < 4 * math.sqrt(trials * p * (1 - p))


def test_prob_frequency_and_exact_edges():
    x, y = _batch()
    trials, p = 600, 0.4
    transform = MixupCutmix(prob=p, num_classes=4)
    mixed = sum(transform.get_params(x, torch.Generator().manual_seed(s)).mode != "none" for s in range(trials))
    assert abs(mixed - trials * p) < 4 * math.sqrt(trials * p * (1 - p))
    never = MixupCutmix(prob=0.0, label_smoothing=0.2, num_classes=4)
    for seed in range(10):
        x_out, y_out = never(x, y, torch.Generator().manual_seed(seed))
        assert torch.equal(x_out, x)
        torch.testing.assert_close(y_out, F.one_hot(y, 4).float() * 0.8 + 0.05)
    only_cutmix = MixupCutmix(switch_prob=1.0, num_classes=4)
    only_mixup = MixupCutmix(switch_prob=0.0, num_classes=4)
    for seed in range(20):
        assert only_cutmix.get_params(x, torch.Generator().manual_seed(seed)).mode == "cutmix"
        assert only_mixup.get_params(x, torch.Generator().manual_seed(seed)).mode == "mixup"


def test_single_method_configurations():
    x, y = _batch()
    mixup_only = MixupCutmix(mixup_alpha=0.2, cutmix_alpha=0.0, switch_prob=1.0, num_classes=4)
    assert not mixup_only.uses_cutmix
    flat = x.flatten(1)  # mixup alone accepts non-image inputs
    x_out, _ = mixup_only(flat, y, torch.Generator().manual_seed(0))
    assert x_out.shape == flat.shape
    cutmix_only = MixupCutmix(mixup_alpha=0.0, cutmix_alpha=1.0, switch_prob=0.0, num_classes=4)
    assert cutmix_only.uses_cutmix
    assert {cutmix_only.get_params(x, torch.Generator().manual_seed(s)).mode for s in range(10)} == {"cutmix"}


def test_same_seed_identical_outputs():
    x, y = _batch()
    transform = MixupCutmix(num_classes=4)
    a = transform(x, y, torch.Generator().manual_seed(4))
    b = transform(x, y, torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_config_round_trip_and_registry():
    transform = MixupCutmix(mixup_alpha=0.2, cutmix_alpha=0.0, label_smoothing=0.1, num_classes=10)
    config = transform.get_config()
    assert config == {
        "mixup_alpha": 0.2,
        "cutmix_alpha": 0.0,
        "switch_prob": 0.5,
        "prob": 1.0,
        "label_smoothing": 0.1,
        "num_classes": 10,
    }
    assert MixupCutmix.from_config(config).get_config() == config
    assert repr(transform) == (
        "MixupCutmix(mixup_alpha=0.2, cutmix_alpha=0.0, switch_prob=0.5, prob=1.0, label_smoothing=0.1,"
        " num_classes=10)"
    )
    built = reglab.get("mixup_cutmix", num_classes=3)
    assert isinstance(built, MixupCutmix) and built.mixup_alpha == 0.8 and built.cutmix_alpha == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"mixup_alpha": 0.0, "cutmix_alpha": 0.0},
            "Invalid value for argument `mixup_alpha`. Expected mixup_alpha > 0 or cutmix_alpha > 0."
            " Received: mixup_alpha=0.0, cutmix_alpha=0.0",
        ),
        (
            {"mixup_alpha": -0.2},
            "Invalid value for argument `mixup_alpha`. Expected a number in [0, inf). Received: mixup_alpha=-0.2",
        ),
        (
            {"switch_prob": 1.5},
            "Invalid value for argument `switch_prob`. Expected a number in [0, 1]. Received: switch_prob=1.5",
        ),
        ({"prob": -0.1}, "Invalid value for argument `prob`. Expected a number in [0, 1]. Received: prob=-0.1"),
        (
            {"label_smoothing": 2},
            "Invalid value for argument `label_smoothing`. Expected a number in [0, 1]. Received: label_smoothing=2",
        ),
        (
            {"num_classes": 0},
            "Invalid value for argument `num_classes`. Expected an integer >= 1. Received: num_classes=0",
        ),
    ],
)
def test_bad_arguments_full_message(kwargs, message):
    with pytest.raises(ValueError) as exc:
        MixupCutmix(**kwargs)
    assert str(exc.value) == message


def test_cutmix_needs_images_full_message():
    with pytest.raises(ValueError) as exc:
        MixupCutmix(num_classes=4)(torch.randn(6, 40), torch.zeros(6, dtype=torch.long))
    assert str(exc.value) == (
        "Invalid value for argument `x`. Expected a tensor with 4 dimensions. Received: x.ndim=2 (shape (6, 40))"
    )

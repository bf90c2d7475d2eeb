"""Infinite and NaN values are refused wherever a finite number is needed (issue 12, item 1).

``alpha=inf`` used to pass ``check_positive`` and hang the Beta sampler's accept/reject loop; every
open interval now excludes its infinity, and the sampler's loop is bounded whatever its shape.
"""

from __future__ import annotations

import math

import pytest
import torch

import reglab.functional as F
from reglab._validate import check_non_negative, check_positive, check_range
from reglab.augment import MixupCutmix, cutmix, mixup
from reglab.augment.sampling import _log_gamma, sample_beta
from reglab.errors import ConfigError
from reglab.experiments.config import load_config
from reglab.experiments.spec import RegularizationSpec, RunSpec
from reglab.penalties import Penalty
from reglab.training import Trainer

INF, NAN = math.inf, math.nan


@pytest.mark.parametrize("value", [INF, -INF, NAN])
def test_open_intervals_exclude_infinity(value):
    with pytest.raises(ValueError) as exc:
        check_positive("lr", value)
    assert str(exc.value) == f"Invalid value for argument `lr`. Expected a number in (0, inf). Received: lr={value!r}"
    with pytest.raises(ValueError) as exc:
        check_non_negative("wd", value)
    assert str(exc.value) == f"Invalid value for argument `wd`. Expected a number in [0, inf). Received: wd={value!r}"
    with pytest.raises(ValueError) as exc:
        check_range("x", value, None, 2.5)
    assert str(exc.value) == f"Invalid value for argument `x`. Expected a number in (-inf, 2.5]. Received: x={value!r}"


def test_large_finite_values_still_pass():
    assert check_positive("lr", 1e300) == 1e300
    assert check_non_negative("wd", 0) == 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sample_beta(INF, 1.0), "Invalid value for argument `alpha`. Expected a number in (0, inf). Received: alpha=inf"),
        (lambda: sample_beta(1.0, NAN), "Invalid value for argument `beta`. Expected a number in (0, inf). Received: beta=nan"),
        (lambda: mixup(torch.zeros(4, 3), torch.tensor([0, 1, 0, 1]), alpha=INF),
         "Invalid value for argument `alpha`. Expected a number in (0, inf). Received: alpha=inf"),
        (lambda: cutmix(torch.zeros(4, 3, 8, 8), torch.tensor([0, 1, 0, 1]), alpha=INF),
         "Invalid value for argument `alpha`. Expected a number in (0, inf). Received: alpha=inf"),
        (lambda: MixupCutmix(mixup_alpha=INF),
         "Invalid value for argument `mixup_alpha`. Expected a number in [0, inf). Received: mixup_alpha=inf"),
        (lambda: Penalty("l2", INF),
         "Invalid value for argument `coefficient`. Expected a number in [0, inf). Received: coefficient=inf"),
        (lambda: F.gaussian_noise(torch.zeros(3), std=INF, training=True),
         "Invalid value for argument `std`. Expected a number in [0, inf). Received: std=inf"),
        (lambda: F.dropout(torch.zeros(3), p=NAN, training=True),
         "Invalid value for argument `p`. Expected a number in [0, 1]. Received: p=nan"),
    ],
)
def test_api_refuses_non_finite(call, message):
    with pytest.raises(ValueError) as exc:
        call()
    assert str(exc.value) == message


def test_trainer_refuses_infinite_max_norm():
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError) as exc:
        Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), train_loader=[], max_norm=INF)
    assert str(exc.value) == "Invalid value for argument `max_norm`. Expected a number in (0, inf). Received: max_norm=inf"


@pytest.mark.parametrize("shape", [INF, NAN])
def test_gamma_loop_is_bounded_whatever_the_shape(shape):
    # The private sampler skips the public check: its own loop must still end.
    with pytest.raises(ValueError) as exc:
        _log_gamma(shape, 3, torch.Generator().manual_seed(0))
    assert str(exc.value) == (
        f"Invalid value for argument `shape`. Expected a finite number in (0, inf). Received: shape={shape!r}"
    )


def test_gamma_loop_bound_never_binds_for_finite_shapes():
    g = torch.Generator().manual_seed(0)
    for shape in (1e-3, 0.2, 1.0, 7.5, 1e6):
        assert len(_log_gamma(shape, 500, g)) == 500


def test_spec_fields_refuse_non_finite():
    with pytest.raises(ValueError):
        RegularizationSpec(max_norm=INF)
    with pytest.raises(ValueError):
        RunSpec.model_validate({"optimizer": {"lr": NAN}})


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["max_norm=inf"], "Invalid value for argument `regularization.max_norm`. Expected a number in (0, inf) "
                           "(or none). Received: regularization.max_norm=inf"),
        (["optimizer.lr=inf"], "Invalid value for argument `optimizer.lr`. Expected a number in (0, inf). "
                               "Received: optimizer.lr=inf"),
        (["mixup_alpha=nan"], "Invalid value for argument `regularization.mixup_alpha`. Expected a number in [0, inf). "
                              "Received: regularization.mixup_alpha=nan"),
    ],
)
def test_config_sets_refuse_non_finite(sets, message):
    with pytest.raises(ConfigError) as exc:
        load_config("study", sets=sets)
    assert str(exc.value) == message

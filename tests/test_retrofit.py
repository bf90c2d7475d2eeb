"""reglab.retrofit: find dropout modules, set their rate, insert dropout after activations."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import reglab.nn as RN
from reglab.retrofit import DropoutAfter, dropout_modules, insert_dropout, set_dropout_rate


def mixed_model() -> nn.Module:
    return nn.Sequential(
        nn.Linear(4, 8),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Sequential(nn.Linear(8, 8), RN.Dropout(0.2), nn.Dropout2d(0.3)),
        RN.DropConnect(8, 8, 0.4),
        RN.GaussianDropout(0.1),
        RN.DropPath(0.05),
        nn.AlphaDropout(0.1),
        RN.LockedDropout(0.2),
    )


def test_dropout_modules_lists_the_dropout_family_by_name():
    names = [(name, type(m).__name__) for name, m in dropout_modules(mixed_model())]
    assert names == [
        ("2", "Dropout"),
        ("3.1", "Dropout"),
        ("3.2", "Dropout2d"),
        ("4", "DropConnect"),
        ("5", "GaussianDropout"),
        ("7", "AlphaDropout"),
        ("8", "LockedDropout"),
    ]
    assert [name for name, _ in dropout_modules(mixed_model(), types=(RN.DropPath,))] == ["6"]
    single = nn.Dropout(0.5)
    assert dropout_modules(single) == [("", single)]


def test_set_dropout_rate_sets_every_family_member_and_counts():
    model = mixed_model()
    assert set_dropout_rate(model, 0.35) == 7
    assert [m.p for _, m in dropout_modules(model)] == [0.35] * 7
    assert model[6].p == 0.05  # DropPath has its own schedule
    assert set_dropout_rate(model, 0.5, types=(RN.DropPath,)) == 1
    assert model[6].p == 0.5
    assert set_dropout_rate(nn.Linear(2, 2), 0.3) == 0


def test_set_dropout_rate_changes_behaviour():
    model = nn.Sequential(nn.Dropout(0.5), RN.Dropout(0.5))
    set_dropout_rate(model, 0.0)
    x = torch.randn(10, 10)
    assert torch.equal(model.train()(x), x)


def test_set_dropout_rate_refuses_one_for_gaussian_dropout_and_changes_nothing():
    model = mixed_model()
    with pytest.raises(ValueError) as exc:
        set_dropout_rate(model, 1.0)
    assert str(exc.value) == "Invalid value for argument `p`. Expected a number in [0, 1). Received: p=1.0"
    assert [m.p for _, m in dropout_modules(model)] == [0.1, 0.2, 0.3, 0.4, 0.1, 0.1, 0.2]
    plain = nn.Sequential(nn.Dropout(0.1), RN.Dropout(0.1))
    assert set_dropout_rate(plain, 1.0) == 2


@pytest.mark.parametrize("p", [1.5, -0.1, "0.1"])
def test_set_dropout_rate_bad_p(p):
    with pytest.raises(ValueError) as exc:
        set_dropout_rate(mixed_model(), p)
    assert str(exc.value) == f"Invalid value for argument `p`. Expected a number in [0, 1]. Received: p={p!r}"


def test_insert_dropout_after_each_activation():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.GELU(), nn.Sequential(nn.Linear(8, 8), nn.ReLU()), nn.Tanh()
    )
    x = torch.randn(5, 4)
    before = model(x)
    out = insert_dropout(model, 0.25)
    assert out is model
    for index in ("1", "3", "4.1", "5"):  # every activation by default, Tanh included
        wrapper = model.get_submodule(index)
        assert isinstance(wrapper, DropoutAfter)
        assert repr(wrapper[1]) == "Dropout(p=0.25, mode='inverted')"
    assert len(dropout_modules(model)) == 4
    assert torch.equal(model.eval()(x), before)  # inverted dropout: evaluation unchanged
    model.train()
    assert not torch.equal(model(x), before)


def test_insert_dropout_is_idempotent_and_skips_existing_dropout():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Dropout(0.1), nn.Linear(4, 4), nn.ReLU())
    insert_dropout(model, 0.2)
    assert isinstance(model[1], nn.ReLU)  # already followed by a dropout
    assert isinstance(model[4], DropoutAfter)
    insert_dropout(model, 0.3)
    assert len(dropout_modules(model)) == 2
    assert model[4][1].p == 0.2


def test_insert_dropout_options():
    model = nn.Sequential(nn.Linear(2, 2), nn.SiLU(), nn.ReLU())
    insert_dropout(model, 0.5, after=nn.SiLU, mode="classic")
    assert repr(model[1][1]) == "Dropout(p=0.5, mode='classic')"
    assert isinstance(model[2], nn.ReLU)
    wrapped = insert_dropout(nn.ReLU(), 0.1)
    assert isinstance(wrapped, DropoutAfter) and isinstance(wrapped[0], nn.ReLU)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p": 2.0}, "Invalid value for argument `p`. Expected a number in [0, 1]. Received: p=2.0"),
        ({"p": 0.1, "mode": "x"}, "Invalid value for argument `mode`. Expected one of 'inverted', 'classic'. Received: mode='x'"),
        ({"p": 0.1, "after": ()},
         "Invalid value for argument `after`. Expected a non-empty tuple of torch.nn.Module subclasses. Received: after=()"),
        ({"p": 0.1, "after": (int,)},
         "Invalid value for argument `after`. Expected a non-empty tuple of torch.nn.Module subclasses. Received: after=(<class 'int'>,)"),
        ({"p": 0.1, "after": "ReLU"},
         "Invalid value for argument `after`. Expected a non-empty tuple of torch.nn.Module subclasses. Received: after='ReLU'"),
    ],
)
def test_insert_dropout_errors(kwargs, message):
    with pytest.raises(ValueError) as exc:
        insert_dropout(nn.Sequential(nn.ReLU()), **kwargs)
    assert str(exc.value) == message

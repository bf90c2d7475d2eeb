"""Max-norm: every unit's norm <= c afterwards, untouched units bit-for-bit equal, torch.renorm semantics."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from reglab.penalties import MaxNorm, max_norm_, renorm_units_


def _weight(gen, *shape):
    w = torch.randn(*shape, generator=gen)
    w[::2] *= 0.05  # every other unit well inside the ball
    return w


def test_linear_rows_clipped_and_others_unchanged(gen):
    w = _weight(gen, 10, 6)
    before = w.clone()
    norms = before.norm(dim=1)
    c = 1.0
    count = max_norm_(w, c)
    assert count == int((norms > c).sum()) > 0
    after = w.norm(dim=1)
    assert bool((after <= c).all())
    inside = norms <= c
    assert torch.equal(w[inside], before[inside])
    # clipped rows keep their direction and land on the sphere
    torch.testing.assert_close(after[~inside], torch.full_like(after[~inside], c), rtol=0, atol=1e-6)
    torch.testing.assert_close(w[~inside], before[~inside] / norms[~inside, None] * c, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("shape", "dim"), [((8, 5), 0), ((8, 5), 1), ((6, 3, 4, 4), 0), ((4, 6, 5), -1)])
def test_equals_torch_renorm(gen, shape, dim):
    w = torch.randn(*shape, generator=gen)
    ref = torch.renorm(w, 2, dim, 1.5)
    max_norm_([w], 1.5, dim=dim)
    torch.testing.assert_close(w, ref, rtol=1e-6, atol=1e-7)


def test_module_constrains_linear_and_conv_weights_only():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten(), nn.Linear(4, 3), nn.LayerNorm(3))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(20)
    bias_before = [model[0].bias.clone(), model[2].bias.clone(), model[3].weight.clone()]
    count = MaxNorm(2.0)(model)
    assert count == 4 + 3  # all conv filters and all linear rows were far outside the ball
    assert bool((model[0].weight.flatten(1).norm(dim=1) <= 2.0).all())
    assert bool((model[2].weight.norm(dim=1) <= 2.0).all())
    assert torch.equal(model[0].bias, bias_before[0]) and torch.equal(model[2].bias, bias_before[1])
    assert torch.equal(model[3].weight, bias_before[2])
    assert MaxNorm(2.0)(model) == 0  # idempotent: nothing left to clip


def test_constraint_after_optimizer_steps_keeps_gradients_intact():
    torch.manual_seed(1)
    model = nn.Linear(5, 4)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    constraint = MaxNorm(0.5)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(8, 5)).pow(2).sum().backward()
        opt.step()
        constraint(model)
        assert bool((model.weight.norm(dim=1) <= 0.5).all())
    assert model.weight.requires_grad and model.weight.grad_fn is None


def test_config_round_trip():
    constraint = MaxNorm(4.0, dim=1)
    assert repr(constraint) == "MaxNorm(max_norm=4.0, dim=1)"
    assert constraint.get_config() == {"max_norm": 4.0, "dim": 1}
    assert MaxNorm.from_config(constraint.get_config()).get_config() == constraint.get_config()
    assert MaxNorm().max_norm == 3.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: max_norm_(torch.zeros(2, 2), 0.0),
            "Invalid value for argument `max_norm`. Expected a number in (0, inf). Received: max_norm=0.0",
        ),
        (lambda: MaxNorm(-1.0), "Invalid value for argument `max_norm`. Expected a number in (0, inf). Received: max_norm=-1.0"),
        (
            lambda: max_norm_(torch.zeros(2, 3), 1.0, dim=2),
            "Invalid value for argument `dim`. Expected an integer in [-2, 1] for a weight of shape (2, 3). Received: dim=2",
        ),
        (
            lambda: max_norm_([torch.zeros(3)], 1.0),
            "Invalid value for argument `module_or_params`. Expected floating-point weights with at least 2"
            " dimensions. Received: a torch.float32 tensor of shape (3,)",
        ),
        (
            lambda: max_norm_([torch.zeros(3, 2, dtype=torch.long)], 1.0),
            "Invalid value for argument `module_or_params`. Expected floating-point weights with at least 2"
            " dimensions. Received: a torch.int64 tensor of shape (3, 2)",
        ),
        (
            lambda: max_norm_(nn.Sequential(nn.ReLU()), 1.0),
            "Invalid value for argument `module_or_params`. Expected at least one weight to constrain."
            " Received: a Sequential without nn.Linear or nn.Conv1d/2d/3d layers",
        ),
        (
            lambda: max_norm_([], 1.0),
            "Invalid value for argument `module_or_params`. Expected at least one weight to constrain."
            " Received: an empty iterable",
        ),
        (
            lambda: max_norm_(torch.zeros(2, 2), 1.0, dim=0.5),
            "Invalid value for argument `dim`. Expected an integer. Received: dim=0.5",
        ),
    ],
)
def test_bad_arguments_full_message(call, message):
    with pytest.raises(ValueError) as exc:
        call()
    assert str(exc.value) == message


def test_renorm_units_is_max_norm_without_checks_or_count(gen):
    w = torch.randn(64, 30, generator=gen) * 2
    a, b = w.clone(), w.clone()
    over = renorm_units_(a, 1.5)
    assert int(over.sum()) == max_norm_(b, 1.5)
    assert torch.equal(a, b)
    assert over.shape == (64, 1) and bool(over.any())
    assert float(torch.linalg.vector_norm(a, dim=1).max()) <= 1.5

"""Gaussian dropout, alpha dropout and locked (variational) dropout."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import reglab.functional as RF
from reglab.functional.alpha_dropout import SELU_ALPHA_PRIME

Z = 5.0


def binomial_tol(p: float, n: int) -> float:
    return Z * math.sqrt(p * (1 - p) / n)


def variance_tol(values: torch.Tensor) -> float:
    """Z standard errors of the sample variance, estimated from the sample (fourth moment)."""
    centred = (values - values.mean()) ** 2
    return Z * centred.std().item() / math.sqrt(values.numel())


# ---------------------------------------------------------------- gaussian dropout


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_gaussian_dropout_noise_has_mean_one_and_variance_p_over_1_minus_p(p, gen):
    n = 400_000
    out = RF.gaussian_dropout(torch.ones(n, dtype=torch.float64), p, training=True, generator=gen)
    var = p / (1 - p)
    assert abs(out.mean().item() - 1.0) <= Z * math.sqrt(var / n)
    # normal noise: Var(sample variance) = 2 var^2 / (n - 1)
    assert abs(out.var().item() - var) <= Z * var * math.sqrt(2 / (n - 1))


def test_gaussian_dropout_multiplies_input(gen):
    x = torch.randn(100, 100, dtype=torch.float64)
    g2 = torch.Generator().manual_seed(0)
    out = RF.gaussian_dropout(x, 0.3, training=True, generator=gen)
    noise = torch.empty_like(x).normal_(1.0, math.sqrt(0.3 / 0.7), generator=g2)
    torch.testing.assert_close(out, x * noise)


def test_gaussian_dropout_edge_cases(gen):
    x = torch.randn(5, 5)
    assert RF.gaussian_dropout(x, 0.5, training=False) is x
    assert RF.gaussian_dropout(x, 0.0, training=True, generator=gen) is x
    a = RF.gaussian_dropout(x, 0.5, training=True, generator=torch.Generator().manual_seed(2))
    b = RF.gaussian_dropout(x, 0.5, training=True, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b)


@pytest.mark.parametrize("p", [1.0, 1, -0.5])
def test_gaussian_dropout_rejects_rate_one(p):
    with pytest.raises(ValueError) as exc:
        RF.gaussian_dropout(torch.ones(2), p, training=False)
    assert str(exc.value) == f"Invalid value for argument `p`. Expected a number in [0, 1). Received: p={p!r}"


# ---------------------------------------------------------------- alpha dropout


def _alpha_affine(p: float) -> tuple[float, float]:
    a = ((1 - p) * (1 + p * SELU_ALPHA_PRIME**2)) ** -0.5
    return a, -a * SELU_ALPHA_PRIME * p


@pytest.mark.parametrize("use_gen", [False, True])
@pytest.mark.parametrize("p", [0.1, 0.3])
def test_alpha_dropout_is_the_papers_affine_map(use_gen, p, gen):
    """Kept units become a*x + b, dropped ones a*alpha' + b — the same map torch applies."""
    torch.manual_seed(0)
    x = torch.randn(300, 300, dtype=torch.float64)
    out = RF.alpha_dropout(x, p, training=True, generator=gen if use_gen else None)
    a, b = _alpha_affine(p)
    dropped_value = a * SELU_ALPHA_PRIME + b
    dropped = torch.isclose(out, torch.full_like(out, dropped_value), rtol=0, atol=1e-12)
    kept = torch.isclose(out, a * x + b, rtol=0, atol=1e-12)
    assert torch.equal(dropped | kept, torch.ones_like(kept))
    assert abs(dropped.double().mean().item() - p) <= binomial_tol(p, x.numel())


def test_torch_alpha_dropout_uses_the_same_map():
    torch.manual_seed(0)
    p = 0.2
    x = torch.randn(200, 200, dtype=torch.float64)
    out = F.alpha_dropout(x, p, True)
    a, b = _alpha_affine(p)
    dropped = torch.isclose(out, torch.full_like(out, a * SELU_ALPHA_PRIME + b), rtol=0, atol=1e-12)
    kept = torch.isclose(out, a * x + b, rtol=0, atol=1e-12)
    assert torch.equal(dropped | kept, torch.ones_like(kept))


@pytest.mark.parametrize("p", [0.05, 0.2, 0.5])
def test_alpha_dropout_keeps_zero_mean_unit_variance(p, gen):
    n = 400_000
    x = torch.randn(n, dtype=torch.float64, generator=torch.Generator().manual_seed(11))
    x = (x - x.mean()) / x.std()  # exactly standardised input: only the dropout adds error
    out = RF.alpha_dropout(x, p, training=True, generator=gen)
    assert abs(out.mean().item()) <= Z * out.std().item() / math.sqrt(n)
    assert abs(out.var().item() - 1.0) <= variance_tol(out)


def test_alpha_dropout_edge_cases(gen):
    x = torch.randn(5, 5)
    assert RF.alpha_dropout(x, 0.5, training=False) is x
    assert RF.alpha_dropout(x, 0.0, training=True, generator=gen) is x
    a = RF.alpha_dropout(x, 0.5, training=True, generator=torch.Generator().manual_seed(2))
    b = RF.alpha_dropout(x, 0.5, training=True, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b)


def test_alpha_dropout_gradient_is_a_times_mask(gen):
    p = 0.3
    x = torch.randn(40, 40, dtype=torch.float64, requires_grad=True)
    out = RF.alpha_dropout(x, p, training=True, generator=gen)
    out.sum().backward()
    a, b = _alpha_affine(p)
    kept = torch.isclose(out, a * x.detach() + b, rtol=0, atol=1e-12)
    torch.testing.assert_close(x.grad, a * kept.double())


def test_alpha_dropout_rejects_rate_one():
    with pytest.raises(ValueError) as exc:
        RF.alpha_dropout(torch.ones(2), 1.0, training=True)
    assert str(exc.value) == "Invalid value for argument `p`. Expected a number in [0, 1). Received: p=1.0"


# ---------------------------------------------------------------- locked dropout


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("use_gen", [False, True])
def test_locked_dropout_shares_mask_across_time(batch_first, use_gen, gen):
    torch.manual_seed(0)
    b, t, c, p = 64, 12, 50, 0.3
    x = torch.rand(b, t, c) + 0.5
    inp = x if batch_first else x.transpose(0, 1).contiguous()
    out = RF.locked_dropout(inp, p, batch_first, training=True, generator=gen if use_gen else None)
    if not batch_first:
        out = out.transpose(0, 1)
    zero = out == 0  # (B, T, C)
    assert torch.equal(zero, zero[:, :1, :].expand_as(zero))  # same pattern at every step
    torch.testing.assert_close(out[~zero], x[~zero] / (1 - p))
    assert abs(zero[:, 0, :].float().mean().item() - p) <= binomial_tol(p, b * c)


def test_locked_dropout_masks_differ_between_sequences(gen):
    out = RF.locked_dropout(torch.ones(200, 3, 100), 0.5, training=True, generator=gen)
    first = out[0, 0]
    assert any(not torch.equal(first, out[i, 0]) for i in range(1, 200))


def test_locked_dropout_expectation(gen):
    n_seq, p = 20_000, 0.4
    out = RF.locked_dropout(torch.ones(n_seq, 2, 10), p, training=True, generator=gen)
    n = n_seq * 10  # independent draws (one per sequence and feature)
    assert abs(out[:, 0].mean().item() - 1.0) <= Z * math.sqrt(p / (1 - p) / n)


def test_locked_dropout_edge_cases(gen):
    x = torch.randn(2, 3, 4)
    assert RF.locked_dropout(x, 0.5, training=False) is x
    assert RF.locked_dropout(x, 0.0, training=True, generator=gen) is x
    assert torch.equal(RF.locked_dropout(x, 1.0, training=True, generator=gen), torch.zeros_like(x))
    a = RF.locked_dropout(x, 0.5, training=True, generator=torch.Generator().manual_seed(5))
    b = RF.locked_dropout(x, 0.5, training=True, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_locked_dropout_wrong_ndim():
    with pytest.raises(ValueError) as exc:
        RF.locked_dropout(torch.ones(4, 5), 0.5, training=False)
    assert str(exc.value) == (
        "Invalid value for argument `input`. Expected a tensor with 3 dimensions. "
        "Received: input.ndim=2 (shape (4, 5))"
    )


def test_locked_dropout_rejects_non_bool_batch_first():
    with pytest.raises(ValueError) as exc:
        RF.locked_dropout(torch.ones(2, 3, 4), 0.5, "yes", training=False)
    assert str(exc.value) == (
        "Invalid value for argument `batch_first`. Expected one of True, False. Received: batch_first='yes'"
    )

"""reglab.functional.dropout / spatial_dropout: exact edge cases, seeded statistics, structure."""

from __future__ import annotations

import math

import pytest
import torch

import reglab.functional as RF

Z = 5.0  # tolerances are Z standard errors: a correct implementation fails with prob. < 1e-6


def binomial_tol(p: float, n: int) -> float:
    return Z * math.sqrt(p * (1 - p) / n)


# ---------------------------------------------------------------- dropout: edge cases


@pytest.mark.parametrize("mode", ["inverted", "classic"])
@pytest.mark.parametrize("use_gen", [False, True])
def test_p_zero_is_identity_in_training(mode, use_gen, gen):
    x = torch.randn(8, 5)
    out = RF.dropout(x, 0.0, mode, training=True, generator=gen if use_gen else None)
    assert out is x


def test_inverted_eval_is_identity():
    x = torch.randn(8, 5)
    assert RF.dropout(x, 0.7, training=False) is x


def test_classic_eval_scales_by_keep_probability():
    x = torch.randn(8, 5)
    torch.testing.assert_close(RF.dropout(x, 0.25, "classic", training=False), x * 0.75, rtol=0, atol=0)
    assert RF.dropout(x, 0.0, "classic", training=False) is x


@pytest.mark.parametrize("mode", ["inverted", "classic"])
@pytest.mark.parametrize("use_gen", [False, True])
def test_p_one_training_gives_zeros(mode, use_gen, gen):
    x = torch.randn(6, 7, requires_grad=True)
    out = RF.dropout(x, 1.0, mode, training=True, generator=gen if use_gen else None)
    assert torch.equal(out, torch.zeros(6, 7))
    out.sum().backward()
    assert torch.equal(x.grad, torch.zeros(6, 7))


def test_classic_p_one_eval_gives_zeros():
    x = torch.randn(3, 3)
    assert torch.equal(RF.dropout(x, 1.0, "classic", training=False), torch.zeros(3, 3))


# ---------------------------------------------------------------- dropout: values and statistics


@pytest.mark.parametrize("use_gen", [False, True])
def test_inverted_values_are_zero_or_scaled(use_gen, gen):
    torch.manual_seed(0)
    x = torch.rand(200, 300) + 0.5  # no zeros in the input
    p = 0.3
    out = RF.dropout(x, p, training=True, generator=gen if use_gen else None)
    kept = out != 0
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))
    frac = 1 - kept.float().mean().item()
    assert abs(frac - p) <= binomial_tol(p, x.numel())


def test_classic_training_keeps_values_unscaled(gen):
    x = torch.rand(300, 300) + 0.5
    p = 0.4
    out = RF.dropout(x, p, "classic", training=True, generator=gen)
    kept = out != 0
    assert torch.equal(out[kept], x[kept])
    assert abs((1 - kept.float().mean().item()) - p) <= binomial_tol(p, x.numel())
    # classic: E[train output] = (1 - p) x = eval output
    n = x.numel()
    ratio_mean = (out / x).mean().item()
    assert abs(ratio_mean - (1 - p)) <= Z * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_inverted_expectation_equals_input(p, gen):
    n = 400_000
    out = RF.dropout(torch.ones(n), p, training=True, generator=gen)
    # each element is Bernoulli(1-p)/(1-p): mean 1, variance p/(1-p)
    assert abs(out.mean().item() - 1.0) <= Z * math.sqrt(p / (1 - p) / n)


def test_gradient_is_mask_over_keep_probability(gen):
    x = (torch.rand(50, 40) + 0.5).requires_grad_()
    out = RF.dropout(x, 0.2, training=True, generator=gen)
    out.sum().backward()
    torch.testing.assert_close(x.grad, (out != 0).float() / 0.8)


def test_input_is_not_modified(gen):
    x = torch.randn(30, 30)
    before = x.clone()
    RF.dropout(x, 0.5, training=True, generator=gen)
    RF.dropout(x, 0.5, "classic", training=True, generator=gen)
    RF.dropout(x, 0.5, training=True)
    assert torch.equal(x, before)


@pytest.mark.parametrize("mode", ["inverted", "classic"])
def test_same_seed_same_output(mode):
    x = torch.randn(64, 64)
    a = RF.dropout(x, 0.5, mode, training=True, generator=torch.Generator().manual_seed(7))
    b = RF.dropout(x, 0.5, mode, training=True, generator=torch.Generator().manual_seed(7))
    c = RF.dropout(x, 0.5, mode, training=True, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_global_rng_path_follows_manual_seed():
    x = torch.randn(64, 64)
    torch.manual_seed(3)
    a = RF.dropout(x, 0.5, training=True)
    torch.manual_seed(3)
    b = RF.dropout(x, 0.5, training=True)
    assert torch.equal(a, b)


def test_dtype_and_device_follow_input(gen):
    x = torch.randn(10, 10, dtype=torch.float64)
    assert RF.dropout(x, 0.5, training=True, generator=gen).dtype == torch.float64
    meta = torch.empty(4, 3, device="meta")
    assert RF.dropout(meta, 0.5, "classic", training=True).device.type == "meta"


# ---------------------------------------------------------------- dropout: argument errors


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), True, "0.5", None])
@pytest.mark.parametrize("training", [True, False])
def test_bad_p_raises_in_training_and_eval(p, training):
    with pytest.raises(ValueError) as exc:
        RF.dropout(torch.ones(2), p, training=training)
    assert str(exc.value) == f"Invalid value for argument `p`. Expected a number in [0, 1]. Received: p={p!r}"


def test_bad_mode_raises():
    with pytest.raises(ValueError) as exc:
        RF.dropout(torch.ones(2), 0.5, "scaled", training=False)
    assert str(exc.value) == (
        "Invalid value for argument `mode`. Expected one of 'inverted', 'classic'. Received: mode='scaled'"
    )


# ---------------------------------------------------------------- spatial dropout


@pytest.mark.parametrize("shape", [(16, 32, 9), (16, 32, 5, 6), (16, 32, 3, 4, 5)])
@pytest.mark.parametrize("use_gen", [False, True])
def test_spatial_dropout_drops_whole_channels(shape, use_gen, gen):
    torch.manual_seed(1)
    x = torch.rand(shape) + 0.5
    p = 0.4
    out = RF.spatial_dropout(x, p, training=True, generator=gen if use_gen else None)
    flat_out = out.flatten(2)
    flat_x = x.flatten(2)
    dropped = (flat_out == 0).all(dim=2)  # (N, C)
    kept = (flat_out != 0).all(dim=2)
    assert torch.equal(dropped | kept, torch.ones_like(dropped))  # no partially dropped channel
    torch.testing.assert_close(flat_out[kept], flat_x[kept] / (1 - p))
    n_channels = shape[0] * shape[1]
    assert abs(dropped.float().mean().item() - p) <= binomial_tol(p, n_channels)


def test_spatial_dropout_rate_over_many_channels(gen):
    p = 0.25
    out = RF.spatial_dropout(torch.ones(500, 400, 2), p, training=True, generator=gen)
    assert abs((out[:, :, 0] == 0).float().mean().item() - p) <= binomial_tol(p, 500 * 400)


def test_spatial_dropout_edge_cases(gen):
    x = torch.randn(2, 3, 4, 4)
    assert RF.spatial_dropout(x, 0.9, training=False) is x
    assert RF.spatial_dropout(x, 0.0, training=True, generator=gen) is x
    assert torch.equal(RF.spatial_dropout(x, 1.0, training=True, generator=gen), torch.zeros_like(x))
    assert torch.equal(RF.spatial_dropout(x, 1.0, training=True), torch.zeros_like(x))


def test_spatial_dropout_same_seed_same_output():
    x = torch.randn(8, 16, 5, 5)
    a = RF.spatial_dropout(x, 0.5, training=True, generator=torch.Generator().manual_seed(1))
    b = RF.spatial_dropout(x, 0.5, training=True, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4, 5, 6, 7)])
def test_spatial_dropout_wrong_ndim(shape):
    with pytest.raises(ValueError) as exc:
        RF.spatial_dropout(torch.ones(shape), 0.5, training=False)
    assert str(exc.value) == (
        "Invalid value for argument `input`. Expected a tensor with 3, 4 or 5 dimensions. "
        f"Received: input.ndim={len(shape)} (shape {shape})"
    )


def test_spatial_dropout_bad_p():
    with pytest.raises(ValueError) as exc:
        RF.spatial_dropout(torch.ones(2, 2, 2), 2, training=False)
    assert str(exc.value) == "Invalid value for argument `p`. Expected a number in [0, 1]. Received: p=2"

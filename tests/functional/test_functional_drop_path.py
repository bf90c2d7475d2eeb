"""reglab.functional.drop_path / drop_path_rates and drop_connect_linear."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import reglab.functional as RF

Z = 5.0


def binomial_tol(p: float, n: int) -> float:
    return Z * math.sqrt(p * (1 - p) / n)


# ---------------------------------------------------------------- drop_path


@pytest.mark.parametrize("use_gen", [False, True])
def test_row_mode_drops_whole_samples(use_gen, gen):
    torch.manual_seed(0)
    p = 0.3
    x = torch.rand(4000, 3, 5) + 0.5
    out = RF.drop_path(x, p, training=True, generator=gen if use_gen else None)
    dropped = (out == 0).flatten(1).all(1)
    kept = (out != 0).flatten(1).all(1)
    assert torch.equal(dropped | kept, torch.ones_like(kept))
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))
    assert abs(dropped.float().mean().item() - p) <= binomial_tol(p, 4000)


def test_batch_mode_drops_the_whole_batch_or_nothing():
    p, trials = 0.3, 2000
    x = torch.ones(8, 4)
    g = torch.Generator().manual_seed(0)
    n_dropped = 0
    for _ in range(trials):
        out = RF.drop_path(x, p, "batch", training=True, generator=g)
        if torch.equal(out, torch.zeros_like(x)):
            n_dropped += 1
        else:
            torch.testing.assert_close(out, x / (1 - p))
    assert abs(n_dropped / trials - p) <= binomial_tol(p, trials)


def test_scale_by_keep_false_leaves_survivors_unscaled(gen):
    x = torch.rand(500, 6) + 0.5
    out = RF.drop_path(x, 0.5, scale_by_keep=False, training=True, generator=gen)
    kept = (out != 0).all(1)
    assert torch.equal(out[kept], x[kept])


def test_drop_path_expectation(gen):
    p, n = 0.2, 200_000
    out = RF.drop_path(torch.ones(n, 1), p, training=True, generator=gen)
    assert abs(out.mean().item() - 1.0) <= Z * math.sqrt(p / (1 - p) / n)


def test_drop_path_edge_cases(gen):
    x = torch.randn(4, 3)
    assert RF.drop_path(x, 0.5, training=False) is x
    assert RF.drop_path(x, 0.0, training=True, generator=gen) is x
    for mode in ("row", "batch"):
        assert torch.equal(RF.drop_path(x, 1.0, mode, training=True, generator=gen), torch.zeros_like(x))
    a = RF.drop_path(x, 0.5, training=True, generator=torch.Generator().manual_seed(4))
    b = RF.drop_path(x, 0.5, training=True, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b)


def test_drop_path_gradient_follows_mask(gen):
    x = (torch.rand(100, 3) + 0.5).requires_grad_()
    out = RF.drop_path(x, 0.5, training=True, generator=gen)
    out.sum().backward()
    torch.testing.assert_close(x.grad, (out != 0).float() / 0.5)


def test_drop_path_errors():
    with pytest.raises(ValueError) as exc:
        RF.drop_path(torch.ones(3), 0.5, "sample", training=True)
    assert str(exc.value) == "Invalid value for argument `mode`. Expected one of 'row', 'batch'. Received: mode='sample'"
    with pytest.raises(ValueError) as exc:
        RF.drop_path(torch.ones(3), -1, training=False)
    assert str(exc.value) == "Invalid value for argument `p`. Expected a number in [0, 1]. Received: p=-1"
    with pytest.raises(ValueError) as exc:
        RF.drop_path(torch.tensor(1.0), 0.5, training=True)
    assert str(exc.value) == (
        "Invalid value for argument `input`. Expected a tensor with at least 2 dimensions (batch first). "
        "Received: input.ndim=0 (shape ())"
    )


# ---------------------------------------------------------------- drop_path_rates


def test_drop_path_rates_linear_and_uniform():
    assert RF.drop_path_rates(0.3, 4) == pytest.approx([0.0, 0.1, 0.2, 0.3], abs=1e-15)
    assert RF.drop_path_rates(0.3, 4)[-1] == 0.3
    assert RF.drop_path_rates(0.2, 3, "uniform") == [0.2, 0.2, 0.2]
    assert RF.drop_path_rates(0.1, 1) == [0.1]
    assert RF.drop_path_rates(0.1, 1, "uniform") == [0.1]
    rates = RF.drop_path_rates(0.5, 12)
    assert all(b > a for a, b in zip(rates, rates[1:]))  # deeper blocks drop more


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.1, 0), "Invalid value for argument `depth`. Expected an integer >= 1. Received: depth=0"),
        ((0.1, 2.0), "Invalid value for argument `depth`. Expected an integer >= 1. Received: depth=2.0"),
        ((1.2, 3), "Invalid value for argument `max_rate`. Expected a number in [0, 1]. Received: max_rate=1.2"),
        (
            (0.1, 3, "cosine"),
            "Invalid value for argument `schedule`. Expected one of 'linear', 'uniform'. Received: schedule='cosine'",
        ),
    ],
)
def test_drop_path_rates_errors(args, message):
    with pytest.raises(ValueError) as exc:
        RF.drop_path_rates(*args)
    assert str(exc.value) == message


# ---------------------------------------------------------------- drop_connect_linear


@pytest.mark.parametrize("use_gen", [False, True])
def test_drop_connect_masks_weights_once_per_call(use_gen, gen):
    torch.manual_seed(0)
    p, n_in, n_out = 0.3, 60, 80
    weight = torch.rand(n_out, n_in) + 0.5
    x = torch.cat([torch.eye(n_in), torch.eye(n_in)])  # rows i and n_in + i read the same column
    out = RF.drop_connect_linear(x, weight, None, p, training=True, generator=gen if use_gen else None)
    masked = out[:n_in].T  # (n_out, n_in): the effective weight
    assert torch.equal(out[:n_in], out[n_in:])  # one mask shared by the batch
    kept = masked != 0
    torch.testing.assert_close(masked[kept], weight[kept] / (1 - p))
    assert abs((1 - kept.float().mean().item()) - p) <= binomial_tol(p, weight.numel())


def test_drop_connect_eval_is_plain_linear():
    x, w, b = torch.randn(5, 4), torch.randn(3, 4), torch.randn(3)
    assert torch.equal(RF.drop_connect_linear(x, w, b, 0.5, training=False), F.linear(x, w, b))


def test_drop_connect_bias_is_never_dropped(gen):
    x, w, b = torch.randn(5, 4), torch.randn(3, 4), torch.randn(3)
    out = RF.drop_connect_linear(x, w, b, 1.0, training=True, generator=gen)
    assert torch.equal(out, b.expand(5, 3))
    assert torch.equal(RF.drop_connect_linear(x, w, None, 1.0, training=True), torch.zeros(5, 3))


def test_drop_connect_gradient_reaches_kept_weights_only(gen):
    x = torch.ones(1, 20)
    w = torch.randn(10, 20, requires_grad=True)
    g2 = torch.Generator().manual_seed(0)
    out = RF.drop_connect_linear(x, w, None, 0.5, training=True, generator=gen)
    out.sum().backward()
    mask = torch.empty(10, 20).bernoulli_(0.5, generator=g2)
    torch.testing.assert_close(w.grad, mask / 0.5)


def test_drop_connect_same_seed_and_bad_p():
    x, w = torch.randn(5, 4), torch.randn(3, 4)
    a = RF.drop_connect_linear(x, w, None, 0.5, training=True, generator=torch.Generator().manual_seed(1))
    b = RF.drop_connect_linear(x, w, None, 0.5, training=True, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    with pytest.raises(ValueError) as exc:
        RF.drop_connect_linear(x, w, None, 1.01, training=False)
    assert str(exc.value) == "Invalid value for argument `p`. Expected a number in [0, 1]. Received: p=1.01"


def test_drop_path_rejects_non_bool_scale_by_keep():
    with pytest.raises(ValueError) as exc:
        RF.drop_path(torch.ones(3), 0.5, scale_by_keep="yes", training=False)
    assert str(exc.value) == (
        "Invalid value for argument `scale_by_keep`. Expected one of True, False. Received: scale_by_keep='yes'"
    )

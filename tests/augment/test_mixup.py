"""mixup: x_mixed = lam x + (1 - lam) x[perm], soft targets, Beta statistics, reproducibility."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import reglab
from reglab.augment import Mixup, apply_mix, mixup, sample_mixup_params


def _batch(n=7, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 4, generator=g), torch.randint(0, c, (n,), generator=g)


@pytest.mark.parametrize("n", [1, 2, 7])
def test_mixed_batch_follows_the_formula(n):
    x, y = _batch(n)
    for seed in range(20):
        params = sample_mixup_params(n, 0.4, torch.Generator().manual_seed(seed))
        x_mixed, y_soft = mixup(x, y, 0.4, 5, torch.Generator().manual_seed(seed))
        lam, perm = params.lam, params.perm
        assert params.mode == "mixup"
        assert torch.equal(torch.sort(perm).values, torch.arange(n))
        torch.testing.assert_close(x_mixed, lam * x + (1 - lam) * x[perm])
        one_hot = F.one_hot(y, 5).float()
        torch.testing.assert_close(y_soft, lam * one_hot + (1 - lam) * one_hot[perm])
        torch.testing.assert_close(y_soft.sum(1), torch.ones(n))
        assert y_soft.dtype == torch.float32 and y_soft.shape == (n, 5)


def test_soft_and_one_hot_labels_accepted():
    x, y = _batch()
    one_hot = F.one_hot(y, 5).double()
    g = torch.Generator().manual_seed(3)
    _, from_hard = mixup(x, y, 0.2, 5, torch.Generator().manual_seed(3))
    _, from_one_hot = mixup(x, one_hot, 0.2, None, g)
    assert from_one_hot.dtype == torch.float64
    torch.testing.assert_close(from_one_hot.float(), from_hard)
    soft = torch.softmax(torch.randn(7, 5, generator=g), 1)
    params = sample_mixup_params(7, 0.2, torch.Generator().manual_seed(4))
    _, y_soft = mixup(x, soft, 0.2, 5, torch.Generator().manual_seed(4))
    torch.testing.assert_close(y_soft, params.lam * soft + (1 - params.lam) * soft[params.perm])
    torch.testing.assert_close(y_soft.sum(1), torch.ones(7))


def test_lambda_statistics_follow_beta():
    """Over many seeds the mean and variance of lam match Beta(alpha, alpha) within 4 standard errors."""
    seeds = 1500
    for alpha in (0.2, 1.0):
        lams = torch.tensor(
            [sample_mixup_params(4, alpha, torch.Generator().manual_seed(s)).lam for s in range(seeds)],
            dtype=torch.float64,
        )
        var = 1.0 / (4.0 * (2.0 * alpha + 1.0))
        assert abs(lams.mean().item() - 0.5) < 4 * math.sqrt(var / seeds)
        # Beta(a, a) excess kurtosis: -6 / (2a + 3); SE of the sample variance = var * sqrt((k + 2) / n)
        kurt = -6.0 / (2.0 * alpha + 3.0)
        assert abs(lams.var().item() - var) < 4 * var * math.sqrt((kurt + 2.0) / seeds)


def test_same_seed_identical_outputs_and_inputs_untouched():
    x, y = _batch()
    x_copy = x.clone()
    a = mixup(x, y, 0.2, 5, torch.Generator().manual_seed(11))
    b = mixup(x, y, 0.2, 5, torch.Generator().manual_seed(11))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert torch.equal(x, x_copy)
    c = mixup(x, y, 0.2, 5, torch.Generator().manual_seed(12))
    assert not torch.equal(a[0], c[0])


def test_gradient_flows_to_the_inputs():
    x, y = _batch()
    x.requires_grad_(True)
    params = sample_mixup_params(7, 1.0, torch.Generator().manual_seed(0))
    x_mixed, _ = apply_mix(x, F.one_hot(y, 5).float(), params)
    x_mixed.sum().backward()
    # each input row is used once with weight lam and once (as someone's partner) with 1 - lam
    torch.testing.assert_close(x.grad, torch.ones_like(x))


def test_transform_object_matches_function_and_round_trips():
    x, y = _batch()
    transform = Mixup(alpha=0.4, num_classes=5)
    assert repr(transform) == "Mixup(alpha=0.4, num_classes=5)"
    out = transform(x, y, torch.Generator().manual_seed(2))
    ref = mixup(x, y, 0.4, 5, torch.Generator().manual_seed(2))
    assert torch.equal(out[0], ref[0]) and torch.equal(out[1], ref[1])
    assert Mixup.from_config(transform.get_config()).get_config() == {"alpha": 0.4, "num_classes": 5}
    built = reglab.get("mixup", num_classes=3)
    assert isinstance(built, Mixup) and built.alpha == 0.2 and built.num_classes == 3

"""Generator-respecting Beta/Gamma sampling matches the target distributions."""

from __future__ import annotations

import math

import pytest
import scipy.stats as st
import torch

from reglab.augment import sample_beta
from reglab.augment.sampling import sample_log_gamma

N = 4000
# Kolmogorov-Smirnov critical value at the 0.1% level for n samples: 1.95 / sqrt(n).
KS_CRIT = 1.95 / math.sqrt(N)


@pytest.mark.parametrize("alpha", [0.2, 0.4, 1.0, 2.5])
def test_beta_matches_scipy_distribution(alpha):
    draws = sample_beta(alpha, alpha, N, torch.Generator().manual_seed(1)).numpy()
    assert draws.min() >= 0.0 and draws.max() <= 1.0  # float64 rounds 1 - 1e-20 to 1
    dist = st.beta(alpha, alpha)
    assert st.kstest(draws, dist.cdf).statistic < KS_CRIT
    var = dist.var()
    excess_kurtosis = float(dist.stats(moments="k"))
    assert abs(draws.mean() - 0.5) < 4 * math.sqrt(var / N)
    # standard error of the sample variance: sigma^2 * sqrt((kurtosis - 1) / n)
    assert abs(draws.var() - var) < 4 * var * math.sqrt((excess_kurtosis + 2) / N)


def test_asymmetric_beta_mean():
    draws = sample_beta(2.0, 5.0, N, torch.Generator().manual_seed(2)).numpy()
    dist = st.beta(2.0, 5.0)
    assert st.kstest(draws, dist.cdf).statistic < KS_CRIT
    assert abs(draws.mean() - 2.0 / 7.0) < 4 * math.sqrt(dist.var() / N)


@pytest.mark.parametrize("shape", [0.3, 1.0, 4.0])
def test_gamma_matches_scipy_distribution(shape):
    draws = sample_log_gamma(shape, N, torch.Generator().manual_seed(3)).exp().numpy()
    assert st.kstest(draws, st.gamma(shape).cdf).statistic < KS_CRIT


def test_same_seed_same_draws_and_global_rng_untouched():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = sample_beta(0.2, 0.2, 50, torch.Generator().manual_seed(7))
    b = sample_beta(0.2, 0.2, 50, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    assert torch.equal(torch.get_rng_state(), before)
    assert not torch.equal(a, sample_beta(0.2, 0.2, 50, torch.Generator().manual_seed(8)))


def test_without_generator_uses_torch_seed():
    torch.manual_seed(5)
    a = sample_beta(1.0, 1.0, 10)
    torch.manual_seed(5)
    assert torch.equal(a, sample_beta(1.0, 1.0, 10))


def test_bad_shape_full_message():
    with pytest.raises(ValueError) as exc:
        sample_beta(0.0, 1.0)
    assert str(exc.value) == "Invalid value for argument `alpha`. Expected a number in (0, inf). Received: alpha=0.0"
    with pytest.raises(ValueError) as exc:
        sample_beta(1.0, -2.0)
    assert str(exc.value) == "Invalid value for argument `beta`. Expected a number in (0, inf). Received: beta=-2.0"

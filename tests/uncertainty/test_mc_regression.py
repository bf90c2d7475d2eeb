"""MC dropout regression: the paper's log-likelihood vs a NumPy/SciPy reference, the mixture with
predicted variances, tau chosen on validation data, interval coverage, the passes vs a hand loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import norm
from torch import nn

from reglab.uncertainty import (
    choose_tau,
    gaussian_log_likelihood,
    interval_coverage,
    mc_predict_regression,
)


def _reference_ll(samples: np.ndarray, y: np.ndarray, tau: float) -> np.ndarray:
    t = samples.shape[0]
    return (logsumexp(-0.5 * tau * (y[None] - samples) ** 2, axis=0) - np.log(t)
            - 0.5 * np.log(2 * np.pi) + 0.5 * np.log(tau))


def test_log_likelihood_matches_the_papers_formula_in_scipy() -> None:
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(50, 30)) * 2.0 + 20.0
    y = rng.normal(size=30) * 3.0 + 20.0
    for tau in (0.05, 0.3, 4.0):
        ll = gaussian_log_likelihood(torch.from_numpy(samples), torch.from_numpy(y), tau)
        np.testing.assert_allclose(ll.numpy(), _reference_ll(samples, y, tau), rtol=1e-12)


def test_one_pass_is_the_gaussian_density_with_variance_one_over_tau() -> None:
    y = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    yhat = torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)
    ll = gaussian_log_likelihood(yhat, y, 0.25)
    np.testing.assert_allclose(ll.numpy(), norm.logpdf(y.numpy(), yhat[0].numpy(), 2.0), rtol=1e-12)


def test_predicted_variances_give_the_mixture_of_normals() -> None:
    rng = np.random.default_rng(1)
    mu = rng.normal(size=(8, 5))
    var = rng.uniform(0.2, 3.0, size=(8, 5))
    y = rng.normal(size=5)
    ref = logsumexp(norm.logpdf(y[None], mu, np.sqrt(var)), axis=0) - np.log(8)
    ll = gaussian_log_likelihood(torch.from_numpy(mu), torch.from_numpy(y), noise_variances=torch.from_numpy(var))
    np.testing.assert_allclose(ll.numpy(), ref, rtol=1e-12)


def test_choose_tau_maximises_the_validation_likelihood() -> None:
    # One pass (all passes equal): the best precision is 1 / mean squared residual, in closed form.
    rng = np.random.default_rng(2)
    y = torch.from_numpy(rng.normal(size=200) * 1.5)
    yhat = torch.zeros(1, 200, dtype=torch.float64)
    tau = choose_tau(yhat, y)
    assert tau == pytest.approx(1.0 / float((y ** 2).mean()), rel=0.012)  # grid step 2.3%
    # With spread passes the chosen tau beats every value of a fine reference grid but one step.
    samples = torch.from_numpy(rng.normal(size=(40, 200)) * 0.8)
    tau = choose_tau(samples, y)
    grid = np.geomspace(0.01, 100, 2000)
    ref = [_reference_ll(samples.numpy(), y.numpy(), g).mean() for g in grid]
    best = float(gaussian_log_likelihood(samples, y, tau).mean())
    assert best >= max(ref) - 1e-3
    assert choose_tau(samples, y, grid=[0.1, 0.2, 0.4]) == grid_choice(samples, y, [0.1, 0.2, 0.4])
    with pytest.raises(ValueError) as err:
        choose_tau(samples, y, grid=[0.1, -1.0])
    assert str(err.value) == ("Invalid value for argument `grid`. Expected a non-empty sequence of finite "
                              "precisions > 0. Received: grid=[0.1, -1.0]")


def grid_choice(samples: torch.Tensor, y: torch.Tensor, grid: list[float]) -> float:
    return max(grid, key=lambda g: _reference_ll(samples.numpy(), y.numpy(), g).mean())


def test_interval_coverage_of_exact_gaussians() -> None:
    gen = torch.Generator().manual_seed(3)
    y = torch.randn(20000, generator=gen, dtype=torch.float64) * 2.0 + 1.0
    cov = interval_coverage(torch.ones(20000, dtype=torch.float64), torch.full((20000,), 4.0, dtype=torch.float64), y)
    # 20,000 draws: binomial std error of a coverage fraction <= 0.0035
    assert cov[0.68] == pytest.approx(0.68, abs=0.012)
    assert cov[0.95] == pytest.approx(0.95, abs=0.006)


def _net(p: float, outputs: int = 1) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Dropout(p), nn.Linear(16, outputs))


def test_passes_match_a_hand_loop_and_the_scale_maps_to_original_units() -> None:
    net = _net(0.3)
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(4))
    res = mc_predict_regression(net, x, 25, generator=torch.Generator().manual_seed(5), scale=(10.0, 2.0))
    # same seed drawn the way mc_predict draws it, then T passes in train mode for the dropout
    seed = int(torch.randint(0, 2**63 - 1, (1,), generator=torch.Generator().manual_seed(5)).item())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net.train()
        with torch.no_grad():
            ref = torch.stack([10.0 + 2.0 * net(x)[:, 0].double() for _ in range(25)])
    net.eval()
    torch.testing.assert_close(res.samples, ref)
    torch.testing.assert_close(res.mean, ref.mean(0))
    torch.testing.assert_close(res.variance, ref.var(0, unbiased=False))
    torch.testing.assert_close(res.predictive_variance(0.5), 2.0 + ref.var(0, unbiased=False))
    assert res.noise_variances is None and not net.training


def test_mean_and_log_variance_outputs_and_p_zero() -> None:
    net = _net(0.0, outputs=2)
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(6))
    res = mc_predict_regression(net, x, 4, generator=torch.Generator().manual_seed(0), scale=(1.0, 3.0))
    with torch.no_grad():
        out = net(x).double()
    torch.testing.assert_close(res.mean, 1.0 + 3.0 * out[:, 0])
    assert torch.equal(res.variance, torch.zeros(5, dtype=torch.float64))  # p = 0: all passes equal
    torch.testing.assert_close(res.predictive_variance(), 9.0 * out[:, 1].exp())


def test_errors_name_the_argument() -> None:
    with pytest.raises(ValueError) as err:
        mc_predict_regression(nn.Linear(3, 1), torch.zeros(2, 3), 5)
    assert str(err.value).startswith("Invalid value for argument `model`. Expected a model with at least one "
                                     "module of types (")
    assert str(err.value).endswith("Received: a Linear without any (its MC passes would all be equal)")
    with pytest.raises(ValueError) as err:
        mc_predict_regression(_net(0.1, outputs=3), torch.zeros(2, 3), 5)
    assert str(err.value) == ("Invalid value for argument `model`. Expected a regression model returning (N, 1) "
                              "predictions or (N, 2) mean and log-variance. Received: outputs of shape (2, 3)")
    with pytest.raises(ValueError) as err:
        gaussian_log_likelihood(torch.zeros(3, 4), torch.zeros(5), 1.0)
    assert str(err.value) == ("Invalid value for argument `targets`. Expected one target per column of samples "
                              "(4). Received: targets.shape=(5,)")
    with pytest.raises(ValueError) as err:
        gaussian_log_likelihood(torch.zeros(3, 4), torch.zeros(4), 0.0)
    assert str(err.value) == "Invalid value for argument `tau`. Expected a number in (0, inf). Received: tau=0.0"
    with pytest.raises(ValueError) as err:
        gaussian_log_likelihood(torch.zeros(3, 4), torch.zeros(4))
    assert str(err.value) == ("Invalid value for argument `tau`. Expected exactly one of tau and noise_variances. "
                              "Received: tau=None, noise_variances None")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_model_returns_cpu_float64_equal_to_the_cpu_model():
    net = _net(0.0, outputs=2)
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(7))
    cpu = mc_predict_regression(net, x, 3, generator=torch.Generator().manual_seed(0), scale=(1.0, 2.0))
    gpu = mc_predict_regression(net.cuda(), x, 3, generator=torch.Generator().manual_seed(0), scale=(1.0, 2.0))
    assert gpu.mean.device.type == "cpu" and gpu.mean.dtype == torch.float64
    torch.testing.assert_close(gpu.mean, cpu.mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(gpu.predictive_variance(), cpu.predictive_variance(), rtol=1e-5, atol=1e-5)

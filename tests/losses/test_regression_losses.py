"""Regression losses: MSE matched to the target's shape (no (N, N) broadcast), the Gaussian NLL
against torch.distributions.Normal, and the output-shape errors."""

from __future__ import annotations

import math

import pytest
import torch

from reglab.losses import gaussian_nll, mse, regression_outputs


def test_mse_matches_the_per_example_squared_error_for_column_outputs() -> None:
    out = torch.tensor([[1.0], [2.0], [4.0]])
    y = torch.tensor([1.5, 2.0, 1.0])
    assert mse(out, y).item() == pytest.approx((0.25 + 0.0 + 9.0) / 3)
    assert mse(out[:, 0], y).item() == pytest.approx((0.25 + 0.0 + 9.0) / 3)
    # nn.MSELoss on (N, 1) vs (N,) broadcasts to every pair: a different number.
    with pytest.warns(UserWarning, match="broadcasting"):
        broadcast = torch.nn.MSELoss()(out, y).item()
    assert broadcast == pytest.approx(((out - y[None, :]) ** 2).mean().item())
    assert broadcast != pytest.approx(mse(out, y).item())


def test_gaussian_nll_is_minus_the_normal_log_density() -> None:
    gen = torch.Generator().manual_seed(0)
    out = torch.randn(20, 2, generator=gen, dtype=torch.float64)
    y = torch.randn(20, generator=gen, dtype=torch.float64)
    ref = -torch.distributions.Normal(out[:, 0], out[:, 1].exp().sqrt()).log_prob(y).mean()
    assert gaussian_nll(out, y).item() == pytest.approx(ref.item(), rel=1e-12)
    # unit variance, zero residual: 0.5 log(2 pi)
    assert gaussian_nll(torch.zeros(3, 2), torch.zeros(3)).item() == pytest.approx(0.5 * math.log(2 * math.pi))


def test_outputs_per_loss_and_errors() -> None:
    assert regression_outputs("mse") == 1
    assert regression_outputs("gaussian_nll") == 2
    with pytest.raises(ValueError) as err:
        regression_outputs("mae")
    assert str(err.value) == ("Invalid value for argument `loss`. Expected one of 'mse', 'gaussian_nll'. "
                              "Received: loss='mae'")
    with pytest.raises(ValueError) as err:
        gaussian_nll(torch.zeros(4, 1), torch.zeros(4))
    assert str(err.value) == ("Invalid value for argument `output`. Expected a tensor of shape (4, 2) for "
                              "gaussian_nll on targets of shape (N,). Received: output.shape=(4, 1), "
                              "target.shape=(4,)")
    with pytest.raises(ValueError) as err:
        mse(torch.zeros(4, 3), torch.zeros(4))
    assert str(err.value) == ("Invalid value for argument `output`. Expected a tensor of shape (4, 1) or "
                              "(4,) for mse on targets of shape (N,). Received: output.shape=(4, 3), "
                              "target.shape=(4,)")

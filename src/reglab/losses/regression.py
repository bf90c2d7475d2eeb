"""Regression losses: the mean squared error and the Gaussian negative log-likelihood.

Output conventions (what a regression model returns for ``N`` examples):

* ``loss="mse"``: one column ``(N, 1)`` (or ``(N,)``), the prediction.
* ``loss="gaussian_nll"``: two columns ``(N, 2)``, the mean ``mu`` and the log-variance
  ``s = log sigma^2`` of a Gaussian over the target (heteroscedastic regression, Nix & Weigend
  1994, "Estimating the mean and variance of the target probability distribution"; used with MC
  dropout by Kendall & Gal 2017, arXiv:1703.04977). The log-variance keeps ``sigma^2 = exp(s)``
  positive without a constraint.

:func:`gaussian_nll` is the full per-sample negative log-likelihood
``0.5 * (log(2 pi) + s + (y - mu)^2 / exp(s))`` averaged over the batch (``torch``'s
``F.gaussian_nll_loss`` with ``full=True``, whose ``eps=1e-6`` floor on the variance keeps a
collapsing variance finite), so its value is directly minus a log-likelihood in nats.

Torch only.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from reglab.errors import invalid_argument

__all__ = ["REGRESSION_LOSSES", "regression_outputs", "mse", "gaussian_nll"]

#: The regression losses a run spec can name, and the model outputs each needs.
REGRESSION_LOSSES = {"mse": 1, "gaussian_nll": 2}


def regression_outputs(loss: str) -> int:
    """How many outputs a regression model trained with ``loss`` has (1 for MSE, 2 for Gaussian NLL)."""
    if loss not in REGRESSION_LOSSES:
        raise ValueError(invalid_argument("loss", "one of 'mse', 'gaussian_nll'", loss))
    return REGRESSION_LOSSES[loss]


def _check(output: Tensor, target: Tensor, columns: int, loss: str) -> None:
    n = target.shape[0] if target.dim() else 0
    ok = output.dim() == 2 and output.shape == (n, columns)
    if columns == 1 and output.dim() == 1 and output.shape == (n,):
        ok = True
    if target.dim() != 1 or not ok:
        shape = f"({n}, {columns})" + (f" or ({n},)" if columns == 1 else "")
        raise ValueError(invalid_argument(
            "output", f"a tensor of shape {shape} for {loss} on targets of shape (N,)", output,
            shown=f"output.shape={tuple(output.shape)}, target.shape={tuple(target.shape)}"))


def mse(output: Tensor, target: Tensor) -> Tensor:
    """Mean squared error of a one-output regression model: ``mean((output - target)^2)``.

    Args:
        output: ``(N, 1)`` or ``(N,)`` predictions.
        target: ``(N,)`` float targets.

    Unlike ``nn.MSELoss()(output, target)`` on ``(N, 1)`` vs ``(N,)``, which broadcasts to an
    ``(N, N)`` matrix of every prediction against every target, the output is matched to the
    target's shape.
    """
    _check(output, target, 1, "mse")
    return F.mse_loss(output.reshape(target.shape), target)


def gaussian_nll(output: Tensor, target: Tensor) -> Tensor:
    """Mean Gaussian negative log-likelihood (nats per example) of ``(mu, log sigma^2)`` outputs.

    Args:
        output: ``(N, 2)``: column 0 the mean, column 1 the log-variance.
        target: ``(N,)`` float targets.
    """
    _check(output, target, 2, "gaussian_nll")
    mean, log_var = output[:, 0], output[:, 1]
    return F.gaussian_nll_loss(mean, target, log_var.exp(), full=True, eps=1e-6)

"""MC dropout for regression: predictive mean, variance and log-likelihood with a model precision.

Gal & Ghahramani 2016, "Dropout as a Bayesian Approximation: Representing Model Uncertainty in
Deep Learning", ICML (arXiv:1506.02142), section 4 and eq. (8). With ``T`` stochastic forward
passes ``y_hat_t(x)`` (dropout on) and a model precision ``tau`` (the inverse of the observation
noise variance):

* predictive mean ``E[y] ~ 1/T sum_t y_hat_t``;
* predictive variance ``Var[y] ~ 1/tau + 1/T sum_t y_hat_t^2 - E[y]^2`` (the noise plus the
  population variance of the passes, which :attr:`MCRegression.variance` holds);
* predictive log-likelihood of a target ``y``, per point:
  ``logsumexp_t(-0.5 tau (y - y_hat_t)^2) - log T - 0.5 log(2 pi) + 0.5 log tau``
  (:func:`gaussian_log_likelihood`), the log of the mixture of the ``T`` Gaussians.

A model trained with the Gaussian NLL (two outputs: mean and log-variance,
``reglab.losses.gaussian_nll``) predicts its own noise variance ``v_t`` per pass: the mixture then
has one variance per component, ``logsumexp_t(log N(y; mu_t, v_t)) - log T``, and no ``tau`` is
needed (Kendall & Gal 2017, arXiv:1703.04977).

``tau`` is chosen on validation data by :func:`choose_tau`: the value of a log-spaced grid that
maximises the mean validation log-likelihood (the paper grid-searches ``tau`` the same way; no
closed form exists once the passes differ). The default grid is
:data:`TAU_GRID_POINTS` values of ``1 / v`` with ``v`` from ``1e-3 r`` to ``10 r``, ``r`` the mean
squared error of the MC mean on the validation data: adjacent values differ by 2.3%, and the
optimum ``1/tau <= r`` lies inside (the best single Gaussian has variance ``r``; the spread of the
passes takes up part of it).

Randomness and modes are those of :func:`reglab.uncertainty.mc_predict` (dropout-family modules
in training mode, everything else in eval mode; a ``generator`` makes the passes reproducible
and leaves the global RNG untouched).

Torch only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from reglab._validate import check_int, check_ndim, check_range
from reglab.errors import invalid_argument
from reglab.uncertainty.mc import _batches, _model_device, _rng_context, _selected, _types, mc_dropout_mode

__all__ = [
    "MCRegression",
    "TAU_GRID_POINTS",
    "mc_predict_regression",
    "gaussian_log_likelihood",
    "choose_tau",
    "interval_coverage",
]

#: Points of :func:`choose_tau`'s default grid.
TAU_GRID_POINTS = 401


@dataclass(frozen=True)
class MCRegression:
    """The result of :func:`mc_predict_regression` (float64 tensors on the CPU).

    Attributes:
        samples: ``(T, N)`` the passes' predicted means, in the target's units (after ``scale``).
        noise_variances: ``(T, N)`` the passes' predicted noise variances for a (mean,
            log-variance) model, else None.
        mean: ``(N,)`` predictive mean, ``samples.mean(0)``.
        variance: ``(N,)`` population variance of the passes (divides by ``T``): the model
            (epistemic) part of the predictive variance.
    """

    samples: Tensor
    noise_variances: Tensor | None
    mean: Tensor
    variance: Tensor

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[0])

    def predictive_variance(self, tau: float | None = None) -> Tensor:
        """``(N,)`` ``1/tau + variance``; with predicted noise variances (``tau=None``) their mean
        over the passes plus ``variance`` (the mixture's variance)."""
        if self.noise_variances is not None and tau is None:
            return self.noise_variances.mean(0) + self.variance
        if tau is None:
            raise ValueError(invalid_argument(
                "tau", "a model precision > 0 (this model predicts no noise variance)", tau))
        return 1.0 / check_range("tau", tau, 0.0, None, low_inclusive=False) + self.variance


@torch.no_grad()
def mc_predict_regression(
    model: nn.Module,
    inputs: Tensor | Iterable[Any],
    samples: int = 100,
    *,
    generator: torch.Generator | None = None,
    batch_size: int | None = 1000,
    scale: tuple[float, float] = (0.0, 1.0),
    types: Any = None,
) -> MCRegression:
    """MC dropout regression (Gal & Ghahramani 2016): ``samples`` stochastic passes per batch.

    Args:
        model: returns ``(N, 1)``/``(N,)`` predictions, or ``(N, 2)`` mean and log-variance. It
            must hold at least one module of ``types``; its modes are restored afterwards.
        inputs: a tensor ``(N, ...)`` or an iterable of batches (tensors or ``(input, target)``).
        samples: passes ``T``, >= 1. Defaults to 100.
        generator: makes the passes reproducible. Defaults to None (the global RNG).
        batch_size: chunk size for a tensor input (None: all at once). Defaults to 1000.
        scale: ``(m, s)``: outputs are mapped to ``m + s * output`` and variances to
            ``s^2 exp(log_var)`` (a model trained on standardised targets). Defaults to
            ``(0.0, 1.0)``.
        types: module classes kept stochastic. Defaults to None: ``reglab.nn.DROPOUT_FAMILY``.

    Returns:
        :class:`MCRegression`.

    Raises:
        ValueError: a bad argument, a model without any module of ``types``, or outputs that
            are neither one nor two columns.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(invalid_argument("model", "a torch.nn.Module", model))
    samples = check_int("samples", samples, low=1)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, low=1)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(invalid_argument("generator", "a torch.Generator or None", generator))
    m = check_range("scale[0]", scale[0])
    s = check_range("scale[1]", scale[1], 0.0, None, low_inclusive=False)
    chosen = _types(types)
    if not _selected(model, chosen):
        names = ", ".join(t.__name__ for t in chosen)
        raise ValueError(invalid_argument(
            "model", f"a model with at least one module of types ({names})", model,
            shown=f"a {type(model).__name__} without any (its MC passes would all be equal)"))
    device = _model_device(model)
    means: list[Tensor] = []
    noise: list[Tensor] = []
    with _rng_context(generator, device), mc_dropout_mode(model, chosen):
        for x in _batches(inputs, batch_size):
            x = x.to(device)
            mu_b, var_b = [], []
            for _ in range(samples):
                out = model(x).double()
                if out.dim() == 1:
                    out = out[:, None]
                if out.dim() != 2 or out.shape[1] not in (1, 2):
                    raise ValueError(invalid_argument(
                        "model", "a regression model returning (N, 1) predictions or (N, 2) mean and "
                        "log-variance", model, shown=f"outputs of shape {tuple(out.shape)}"))
                mu_b.append(m + s * out[:, 0].cpu())
                if out.shape[1] == 2:
                    var_b.append(s * s * out[:, 1].cpu().exp())
            means.append(torch.stack(mu_b))
            if var_b:
                noise.append(torch.stack(var_b))
    if not means:
        raise ValueError(invalid_argument("inputs", "at least one example", inputs, shown="no batch"))
    all_samples = torch.cat(means, dim=1)
    mean = all_samples.mean(0)
    variance = ((all_samples - mean) ** 2).mean(0)
    return MCRegression(samples=all_samples, noise_variances=torch.cat(noise, dim=1) if noise else None,
                        mean=mean, variance=variance)


def _check_pair(samples: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    check_ndim("samples", samples, (2,))
    check_ndim("targets", targets, (1,))
    if samples.shape[1] != targets.shape[0]:
        raise ValueError(invalid_argument(
            "targets", f"one target per column of samples ({samples.shape[1]})", targets,
            shown=f"targets.shape={tuple(targets.shape)}"))
    return samples.double(), targets.double().to(samples.device)


def gaussian_log_likelihood(
    samples: Tensor, targets: Tensor, tau: float | None = None, *, noise_variances: Tensor | None = None
) -> Tensor:
    """``(N,)`` per-point predictive log-likelihood (nats) of ``targets`` under the MC mixture.

    With ``tau``: ``logsumexp_t(-0.5 tau (y - y_hat_t)^2) - log T - 0.5 log(2 pi) + 0.5 log tau``
    (Gal & Ghahramani 2016). With ``noise_variances`` ``v_t`` instead:
    ``logsumexp_t(-0.5 (y - y_hat_t)^2 / v_t - 0.5 log v_t) - log T - 0.5 log(2 pi)``.

    Args:
        samples: ``(T, N)`` the passes' predictions.
        targets: ``(N,)`` targets, in the same units.
        tau: model precision, > 0. Exactly one of ``tau`` and ``noise_variances`` is given.
        noise_variances: ``(T, N)`` the passes' predicted noise variances, > 0.
    """
    samples, y = _check_pair(samples, targets)
    t = samples.shape[0]
    if (tau is None) == (noise_variances is None):
        raise ValueError(invalid_argument("tau", "exactly one of tau and noise_variances", tau,
                                          shown=f"tau={tau!r}, noise_variances "
                                                f"{'given' if noise_variances is not None else 'None'}"))
    sq = (y[None, :] - samples) ** 2
    if tau is not None:
        tau = check_range("tau", tau, 0.0, None, low_inclusive=False)
        return (torch.logsumexp(-0.5 * tau * sq, dim=0) - math.log(t) - 0.5 * math.log(2 * math.pi)
                + 0.5 * math.log(tau))
    v = noise_variances.double().to(samples.device)  # type: ignore[union-attr]
    if v.shape != samples.shape:
        raise ValueError(invalid_argument("noise_variances", f"a tensor of shape {tuple(samples.shape)}",
                                          v, shown=f"noise_variances.shape={tuple(v.shape)}"))
    return torch.logsumexp(-0.5 * sq / v - 0.5 * v.log(), dim=0) - math.log(t) - 0.5 * math.log(2 * math.pi)


def choose_tau(samples: Tensor, targets: Tensor, *, grid: Sequence[float] | Tensor | None = None) -> float:
    """The model precision ``tau`` of ``grid`` that maximises the mean :func:`gaussian_log_likelihood`
    of ``targets`` (validation data; first one on ties).

    Args:
        samples: ``(T, N)`` MC predictions on the validation inputs.
        targets: ``(N,)`` validation targets.
        grid: candidate precisions, each > 0. Defaults to None: :data:`TAU_GRID_POINTS` values
            ``1 / v``, ``v`` log-spaced from ``1e-3 r`` to ``10 r`` with ``r`` the mean squared error
            of the MC mean (see the module docstring).
    """
    samples, y = _check_pair(samples, targets)
    if grid is None:
        r = float(((samples.mean(0) - y) ** 2).mean())
        r = r if r > 0 else 1e-12
        values = 1.0 / torch.logspace(math.log10(1e-3 * r), math.log10(10 * r), TAU_GRID_POINTS,
                                      dtype=torch.float64)
    else:
        values = torch.as_tensor(grid, dtype=torch.float64).reshape(-1)
        if values.numel() == 0 or not bool(torch.isfinite(values).all()) or bool((values <= 0).any()):
            raise ValueError(invalid_argument("grid", "a non-empty sequence of finite precisions > 0", grid))
    sq = (y[None, :] - samples) ** 2  # (T, N)
    t = samples.shape[0]
    best, best_ll = float(values[0]), -math.inf
    for tau in values.tolist():
        ll = float((torch.logsumexp(-0.5 * tau * sq, dim=0)).mean()) - math.log(t) + 0.5 * math.log(tau)
        if ll > best_ll:
            best, best_ll = tau, ll
    return best


def interval_coverage(mean: Tensor, variance: Tensor, targets: Tensor,
                      levels: Sequence[float] = (0.68, 0.95)) -> dict[float, float]:
    """Fraction of ``targets`` inside the central Gaussian interval ``mean +- z sqrt(variance)`` of
    each level (``z = sqrt(2) erfinv(level)``: 0.994 for 68%, 1.960 for 95%).

    The MC predictive distribution is a mixture; its intervals are approximated by the Gaussian
    with the same mean and variance. A calibrated model covers each level's fraction.
    """
    check_ndim("mean", mean, (1,))
    if variance.shape != mean.shape or targets.shape != mean.shape:
        raise ValueError(invalid_argument(
            "targets", f"mean, variance and targets of one shape {tuple(mean.shape)}", targets,
            shown=f"variance.shape={tuple(variance.shape)}, targets.shape={tuple(targets.shape)}"))
    out = {}
    err = (targets.double() - mean.double()).abs()
    sd = variance.double().clamp_min(0).sqrt()
    for level in levels:
        level = check_range("levels", level, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
        z = math.sqrt(2.0) * float(torch.special.erfinv(torch.tensor(level, dtype=torch.float64)))
        out[level] = float((err <= z * sd).double().mean())
    return out

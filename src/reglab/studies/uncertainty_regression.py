"""Deterministic vs MC-dropout evaluation of a regression run (``reglab uncertainty`` on a
regression run store or dataset).

As for classification (``reglab.studies.uncertainty``), the run is re-trained from its spec (the
store keeps no weights; same seed, same numbers). Then, on the target's original scale:

* the model precision ``tau`` is chosen on the **validation** split (:func:`choose_tau` on the MC
  passes there) for a one-output (MSE) model; a (mean, log-variance) model predicts its own noise
  variance and needs no ``tau``;
* the evaluated split (test by default) is predicted in eval mode (the usual prediction; its
  Gaussian has variance ``sigma^2``, the validation MSE, as in the run's final metrics) and with
  :func:`mc_predict_regression` (Gal & Ghahramani 2016);
* both are scored by RMSE, the mean per-example log-likelihood (nats) and the coverage of their
  central 68% and 95% predictive intervals (:func:`interval_coverage`: a calibrated model
  covers 68% and 95% of the targets).

The experiments layer is imported inside the functions, so ``import reglab.uncertainty`` stays
torch-only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch

from reglab._validate import check_choice, check_int
from reglab.errors import ConfigError, invalid_argument
from reglab.uncertainty.mc_regression import (
    choose_tau,
    gaussian_log_likelihood,
    interval_coverage,
    mc_predict_regression,
)

__all__ = ["RegressionScores", "RegressionUncertaintyResult", "evaluate_regression_uncertainty", "regression_rows",
           "spec_task"]


@dataclass(frozen=True)
class RegressionScores:
    """RMSE, mean log-likelihood (nats per example) and 68%/95% interval coverage of one prediction."""

    rmse: float
    log_likelihood: float
    coverage_68: float
    coverage_95: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"rmse": self.rmse, "log_likelihood": self.log_likelihood, "coverage_68": self.coverage_68,
                "coverage_95": self.coverage_95, "n": self.n}


@dataclass
class RegressionUncertaintyResult:
    """Deterministic vs MC-dropout scores of one trained regression model on one split.

    Attributes:
        spec: the run spec that was trained.
        split: ``"test"`` or ``"val"``.
        samples: MC passes ``T``.
        seed: seed of the MC passes' generator.
        tau: the model precision chosen on the validation split (None for a model that predicts
            its own variance).
        sigma: the eval-mode prediction's noise standard deviation (validation RMSE; None for a
            model that predicts its own variance).
        deterministic / mc: :class:`RegressionScores`.
        stored_final: the stored run's final metrics when the spec came from a store.
        seconds: wall-clock seconds (training included).
    """

    spec: Any
    split: str
    samples: int
    seed: int
    tau: float | None
    sigma: float | None
    deterministic: RegressionScores
    mc: RegressionScores
    stored_final: dict[str, Any] | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"spec": self.spec.to_dict(), "split": self.split, "samples": self.samples, "seed": self.seed,
                "tau": self.tau, "sigma": self.sigma, "deterministic": self.deterministic.to_dict(),
                "mc": self.mc.to_dict(), "seconds": self.seconds}


def spec_task(spec: Any) -> str:
    """``"classification"`` or ``"regression"``: the task of the spec's dataset."""
    from reglab.experiments.execute import load_splits

    return str(load_splits(spec.data).info.task)


def _scores(y: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, ll: torch.Tensor) -> RegressionScores:
    cov = interval_coverage(mean, var, y)
    return RegressionScores(rmse=math.sqrt(float(((mean - y) ** 2).mean())), log_likelihood=float(ll.mean()),
                            coverage_68=cov[0.68], coverage_95=cov[0.95], n=int(len(y)))


def evaluate_regression_uncertainty(
    spec: Any,
    *,
    samples: int = 100,
    seed: int = 0,
    split: str = "test",
    device: str = "cpu",
    stored_final: dict[str, Any] | None = None,
) -> RegressionUncertaintyResult:
    """Train ``spec`` (as ``run_one`` does) and compare eval-mode and MC-dropout regression.

    Args:
        spec: a ``reglab.experiments.RunSpec`` (or its dict) of a regression run with dropout.
        samples: MC passes, >= 1. Defaults to 100.
        seed: seeds the MC passes' ``torch.Generator``. Defaults to 0.
        split: ``"test"`` or ``"val"``. Defaults to ``"test"``.
        device: torch device. Defaults to ``"cpu"``.
        stored_final: the stored run's final metrics, kept in the result for comparison.

    Raises:
        ConfigError: the spec is not a regression run, trains no dropout layer, or has no
            validation split to choose ``tau`` on.
    """
    from reglab.experiments.execute import build_model, load_splits, train
    from reglab.experiments.regression import predict_original, target_scale
    from reglab.experiments.spec import RunSpec
    from reglab.nn import DROPOUT_FAMILY
    from reglab.studies.uncertainty import _no_dropout_error

    start = time.perf_counter()
    if isinstance(spec, dict):
        spec = RunSpec.from_dict(spec)
    if not isinstance(spec, RunSpec):
        raise ValueError(invalid_argument("spec", "a RunSpec or its dict", spec))
    samples = check_int("samples", samples, low=1)
    seed = check_int("seed", seed, low=0)
    split = check_choice("split", split, ("test", "val"))
    info = load_splits(spec.data).info
    if info.task != "regression":
        raise ConfigError(f"Run {spec.arm!r} is a {info.task} run on {info.name!r}. Expected a regression "
                          f"run (RMSE and interval coverage need real-valued targets). Received: dataset "
                          f"{info.name!r}")
    if info.n_val == 0:
        raise ConfigError(f"Run {spec.arm!r} has no validation split, and tau is chosen on validation data. "
                          f"Expected data.val_fraction > 0. Received: data.val_fraction={spec.data.val_fraction!r}")
    reg = spec.regularization
    with torch.random.fork_rng(devices=[]):
        probe = build_model(spec.model, info, dropout=reg.dropout, drop_path=reg.drop_path,
                            input_noise=reg.input_noise)
    if not any(isinstance(m, DROPOUT_FAMILY) for m in probe.modules()):
        raise _no_dropout_error(spec)
    model, _, splits = train(spec, device=device, progress=False)
    scale = target_scale(splits)
    gen = torch.Generator().manual_seed(seed)
    y_val = splits.y_val.double()
    val = mc_predict_regression(model, splits.x_val, samples, generator=gen, scale=scale)
    tau = None if val.noise_variances is not None else choose_tau(val.samples, y_val)
    det_val, det_val_var = predict_original(model, splits.x_val, scale, device=device)
    sigma2 = float(((det_val - y_val) ** 2).mean()) if det_val_var is None else None

    x, y = getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}").double()
    mc = mc_predict_regression(model, x, samples, generator=gen, scale=scale)
    mc_ll = gaussian_log_likelihood(mc.samples, y, tau, noise_variances=mc.noise_variances if tau is None else None)
    mc_scores = _scores(y, mc.mean, mc.predictive_variance(tau), mc_ll)
    det, det_var = predict_original(model, x, scale, device=device)
    if det_var is None:
        det_var = torch.full_like(det, sigma2)  # type: ignore[arg-type]
    det_ll = gaussian_log_likelihood(det[None], y, noise_variances=det_var[None])
    det_scores = _scores(y, det, det_var, det_ll)
    return RegressionUncertaintyResult(
        spec=spec, split=split, samples=samples, seed=seed, tau=tau,
        sigma=None if sigma2 is None else math.sqrt(sigma2), deterministic=det_scores, mc=mc_scores,
        stored_final=stored_final, seconds=time.perf_counter() - start,
    )


def regression_rows(result: RegressionUncertaintyResult) -> list[tuple[str, str, str, str]]:
    """``(metric, deterministic, MC dropout, difference)`` rows for the terminal and Markdown."""
    d, m = result.deterministic, result.mc
    rows = []
    for name, key, digits in (("RMSE", "rmse", 3), ("log-likelihood (nats)", "log_likelihood", 3),
                              ("68% interval coverage", "coverage_68", 3), ("95% interval coverage", "coverage_95", 3)):
        a, b = getattr(d, key), getattr(m, key)
        rows.append((name, f"{a:.{digits}f}", f"{b:.{digits}f}", f"{b - a:+.{digits}f}"))
    return rows

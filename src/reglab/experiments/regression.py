"""Regression runs: standardised targets for training, metrics on the target's original scale.

The rule (one for every regression run, whatever the runner):

* **Training** sees targets standardised with the training split's mean ``m`` and standard
  deviation ``s`` (population, ``ddof=0``): ``z = (y - m) / s``, as Gal & Ghahramani 2016 and
  Hernandez-Lobato & Adams 2015 do on the UCI sets. The model's outputs are in those units, and
  so is every loss of the history (``train_loss``/``val_loss``: the training loss on the
  standardised targets, MSE or Gaussian NLL), which keeps the learning curves and the diagnosis
  free of the target's units.
* **Final metrics** are on the original scale, ``y_hat = m + s * output``:
  ``{split}_loss`` is the mean squared error, ``{split}_rmse = sqrt({split}_loss)`` and
  ``{split}_ll`` the mean per-example Gaussian log-likelihood (nats). Its variance is the model's
  own ``s^2 exp(log_var)`` under ``loss="gaussian_nll"``; under ``loss="mse"`` the model has none,
  so one homoscedastic variance ``sigma^2`` is used for every split: the MSE on the validation
  split (its maximum-likelihood value on held-out data; the training split's MSE when there is
  no validation split), stored as ``final["sigma"]``.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from reglab.errors import ConfigError

__all__ = ["target_scale", "standardized", "regression_loss", "regression_metrics", "predict_original",
           "CLASSIFICATION_ONLY", "check_regression_spec"]

#: Regularization fields that act on class labels or logits; a regression run refuses them.
CLASSIFICATION_ONLY = ("label_smoothing", "mixup_alpha", "cutmix_alpha", "distillation")


def target_scale(splits: Any) -> tuple[float, float]:
    """``(mean, std)`` of the training targets (population std; 1.0 when the targets are constant)."""
    y = splits.y_train.double()
    mean = float(y.mean())
    std = float(y.std(unbiased=False)) if len(y) > 1 else 0.0
    return mean, (std if std > 0 else 1.0)


def standardized(splits: Any) -> Any:
    """A copy of ``splits`` whose targets are ``(y - mean) / std`` (:func:`target_scale`)."""
    mean, std = target_scale(splits)
    z = {name: (getattr(splits, name) - mean) / std for name in ("y_train", "y_val", "y_test")}
    return replace(splits, y_train_clean=z["y_train"], **z)


def regression_loss(loss: str | None, task: str, arm: str) -> str:
    """The regression loss name of a run: ``loss`` or ``"mse"``; a ConfigError for a regression
    loss on a classification task."""
    if task == "classification":
        if loss is not None:
            raise ConfigError(f"Run {arm!r} sets loss={loss!r} on a classification dataset. Expected "
                              f"no loss (cross-entropy) for classification; 'mse' and 'gaussian_nll' are "
                              f"regression losses. Received: loss={loss!r}")
        return "cross_entropy"
    return loss or "mse"


def check_regression_spec(spec: Any) -> None:
    """A ConfigError naming the first field of :data:`CLASSIFICATION_ONLY` that ``spec`` sets."""
    reg = spec.regularization
    for name in CLASSIFICATION_ONLY:
        value = getattr(reg, name)
        if value is not None and value != 0:
            shown = value if not hasattr(value, "model_dump") else "set"
            raise ConfigError(f"Run {spec.arm!r} sets regularization.{name} on a regression dataset. Expected "
                              f"{name} unset: it acts on class labels or logits. Received: "
                              f"regularization.{name}={shown!r}")


@torch.no_grad()
def predict_original(model: nn.Module, x: torch.Tensor, scale: tuple[float, float], *,
                     device: str = "cpu", batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Eval-mode ``(mean, variance or None)`` of ``model`` on ``x`` in the target's original units
    (float64, CPU); the variance only for two-output (mean, log-variance) models."""
    m, s = scale
    was_training = model.training
    model.eval()
    means, variances = [], []
    try:
        for start in range(0, len(x), batch_size):
            out = model(x[start:start + batch_size].to(device)).double().cpu()
            out = out.reshape(len(out), -1)
            means.append(m + s * out[:, 0])
            if out.shape[1] == 2:
                variances.append(s * s * out[:, 1].exp())
    finally:
        model.train(was_training)
    mean = torch.cat(means) if means else torch.zeros(0, dtype=torch.float64)
    return mean, (torch.cat(variances) if variances else None)


def _gaussian_ll(y: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> float:
    var = var.clamp_min(1e-12)
    return float((-0.5 * (math.log(2 * math.pi) + var.log() + (y - mean) ** 2 / var)).mean())


def regression_metrics(model: nn.Module, splits: Any, *, device: str = "cpu") -> dict[str, Any]:
    """``{split}_loss`` (MSE), ``{split}_rmse``, ``{split}_ll`` for train/val/test and ``sigma``,
    on the original scale (see the module docstring); nan for an empty split."""
    scale = target_scale(splits)
    preds = {}
    for split in ("train", "val", "test"):
        x, y = getattr(splits, f"x_{split}"), getattr(splits, f"y_{split}").double().cpu()
        mean, var = predict_original(model, x, scale, device=device) if len(y) else (None, None)
        preds[split] = (y, mean, var)
    out: dict[str, Any] = {}
    for split, (y, mean, _) in preds.items():
        out[f"{split}_loss"] = float(((y - mean) ** 2).mean()) if mean is not None else math.nan
        out[f"{split}_rmse"] = math.sqrt(out[f"{split}_loss"])
    homoscedastic = next((p[2] for p in preds.values() if p[1] is not None), None) is None
    sigma2 = out["val_loss"] if not math.isnan(out["val_loss"]) else out["train_loss"]
    out["sigma"] = math.sqrt(sigma2) if homoscedastic else None
    for split, (y, mean, var) in preds.items():
        if mean is None:
            out[f"{split}_ll"] = math.nan
            continue
        if var is None:
            var = torch.full_like(mean, sigma2)
        out[f"{split}_ll"] = _gaussian_ll(y, mean, var)
    return out

"""Calibration of predicted class probabilities: ECE, reliability bins, NLL and Brier score.

* Expected calibration error (Naeini, Cooper & Hauskrecht 2015, AAAI; Guo, Pleiss, Sun &
  Weinberger 2017, "On Calibration of Modern Neural Networks", ICML, arXiv:1706.04599): the
  confidence ``max_c p_c`` of each example falls into one of ``M`` equal-width bins
  ``B_1 = [0, 1/M], B_m = ((m-1)/M, m/M]``; with ``acc(B)`` the fraction of correct predictions
  and ``conf(B)`` the mean confidence of a bin,
  ``ECE = sum_m |B_m| / N * |acc(B_m) - conf(B_m)|`` and ``MCE = max_m |acc(B_m) - conf(B_m)|``
  over the non-empty bins. Defaults to ``M = 15`` bins (Guo et al. 2017).
* Negative log-likelihood: ``-1/N sum_i log p_{i, y_i}`` (nats); ``inf`` when a true class has
  probability exactly 0 (pass log-probabilities with ``log=True`` to avoid underflow).
* Brier score (Brier 1950, Monthly Weather Review 78(1)): ``1/N sum_i sum_c (p_ic - 1[c = y_i])^2``,
  the original multi-class form, in [0, 2].

Bins are compared with exact edges ``m / M`` (Python floats), so a confidence equal to an edge
lands in the bin it closes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor

from reglab._validate import check_choice, check_int
from reglab.errors import invalid_argument

__all__ = [
    "ReliabilityBins",
    "CalibrationMetrics",
    "reliability_bins",
    "expected_calibration_error",
    "negative_log_likelihood",
    "brier_score",
    "calibration_metrics",
]


@dataclass(frozen=True)
class ReliabilityBins:
    """Per-bin statistics of a reliability diagram (plain values; ``to_dict()`` is JSON-ready).

    Attributes:
        edges: ``n_bins + 1`` bin edges ``m / n_bins``.
        counts: examples per bin.
        accuracy: fraction correct per bin (nan for an empty bin).
        confidence: mean confidence per bin (nan for an empty bin).
        ece: expected calibration error.
        mce: maximum calibration error over the non-empty bins.
        n: number of examples.
    """

    edges: list[float]
    counts: list[int]
    accuracy: list[float]
    confidence: list[float]
    ece: float
    mce: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReliabilityBins:
        return cls(**data)


@dataclass(frozen=True)
class CalibrationMetrics:
    """Accuracy and calibration of one set of predictions (see :func:`calibration_metrics`)."""

    accuracy: float
    ece: float
    mce: float
    nll: float
    brier: float
    n: int
    bins: ReliabilityBins

    def to_dict(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in ("accuracy", "ece", "mce", "nll", "brier", "n")},
                "bins": self.bins.to_dict()}


def _check(probs: Any, labels: Any, *, log: bool = False) -> tuple[Tensor, Tensor]:
    name = "log_probs" if log else "probs"
    if not isinstance(probs, Tensor) or probs.dim() != 2 or not probs.is_floating_point() or probs.shape[0] == 0:
        shown = (f"{name}.shape={tuple(probs.shape)}, dtype={probs.dtype}" if isinstance(probs, Tensor)
                 else f"{name} of type {type(probs).__name__}")
        raise ValueError(invalid_argument(name, "a floating tensor of shape (N, C) with N >= 1", probs, shown=shown))
    if (not isinstance(labels, Tensor) or labels.dim() != 1 or labels.is_floating_point()
            or labels.dtype == torch.bool or labels.shape[0] != probs.shape[0]):
        shown = (f"labels.shape={tuple(labels.shape)}, dtype={labels.dtype}" if isinstance(labels, Tensor)
                 else f"labels of type {type(labels).__name__}")
        raise ValueError(invalid_argument(
            "labels", f"an integer tensor of shape ({probs.shape[0]},)", labels, shown=shown))
    labels = labels.to(probs.device)
    n_classes = probs.shape[1]
    if int(labels.min()) < 0 or int(labels.max()) >= n_classes:
        bad = int(labels.min()) if int(labels.min()) < 0 else int(labels.max())
        raise ValueError(invalid_argument("labels", f"class indices in [0, {n_classes - 1}]", bad,
                                          shown=f"a label {bad}"))
    if not log:
        low, high = float(probs.min()), float(probs.max())
        if not (low >= 0.0 and high <= 1.0):  # also catches NaN
            bad = low if not low >= 0.0 else high
            raise ValueError(invalid_argument("probs", "probabilities in [0, 1]", bad, shown=f"a value {bad!r}"))
    return probs, labels.long()


def reliability_bins(probs: Tensor, labels: Tensor, n_bins: int = 15) -> ReliabilityBins:
    """Equal-width confidence bins with accuracy, mean confidence and counts; ECE and MCE.

    Args:
        probs: ``(N, C)`` predicted probabilities.
        labels: ``(N,)`` true classes.
        n_bins: number of equal-width bins over [0, 1], >= 1. Defaults to 15.
    """
    probs, labels = _check(probs, labels)
    n_bins = check_int("n_bins", n_bins, low=1)
    conf, pred = probs.detach().max(dim=1)
    conf = conf.double()
    correct = (pred == labels).double()
    edges = [m / n_bins for m in range(n_bins + 1)]
    inner = torch.tensor(edges[1:-1], dtype=torch.float64, device=conf.device)
    idx = torch.bucketize(conf, inner, right=False)  # edges[m] < conf <= edges[m + 1]
    counts = torch.bincount(idx, minlength=n_bins)
    acc_sum = torch.bincount(idx, weights=correct, minlength=n_bins)
    conf_sum = torch.bincount(idx, weights=conf, minlength=n_bins)
    n = int(labels.shape[0])
    accuracy, confidence, ece, mce = [], [], 0.0, 0.0
    for c, a, s in zip(counts.tolist(), acc_sum.tolist(), conf_sum.tolist()):
        if c == 0:
            accuracy.append(math.nan)
            confidence.append(math.nan)
            continue
        accuracy.append(a / c)
        confidence.append(s / c)
        gap = abs(a / c - s / c)
        ece += c / n * gap
        mce = max(mce, gap)
    return ReliabilityBins(edges=edges, counts=counts.tolist(), accuracy=accuracy, confidence=confidence,
                           ece=ece, mce=mce, n=n)


def expected_calibration_error(probs: Tensor, labels: Tensor, n_bins: int = 15) -> float:
    """ECE with ``n_bins`` equal-width bins (Guo et al. 2017); see the module docstring.

    Args:
        probs: ``(N, C)`` predicted probabilities.
        labels: ``(N,)`` true classes.
        n_bins: number of bins, >= 1. Defaults to 15.
    """
    return reliability_bins(probs, labels, n_bins).ece


def negative_log_likelihood(probs: Tensor, labels: Tensor, *, log: bool = False) -> float:
    """Mean ``-log p(y_i | x_i)`` in nats.

    Args:
        probs: ``(N, C)`` probabilities, or log-probabilities when ``log`` is True.
        labels: ``(N,)`` true classes.
        log: ``probs`` holds log-probabilities. Defaults to False.
    """
    check_choice("log", log, (True, False))
    probs, labels = _check(probs, labels, log=log)
    picked = probs.detach().double().gather(1, labels[:, None]).squeeze(1)
    logp = picked if log else torch.log(picked)
    return float(-logp.mean())


def brier_score(probs: Tensor, labels: Tensor) -> float:
    """Multi-class Brier score ``mean_i sum_c (p_ic - 1[c = y_i])^2`` (Brier 1950), in [0, 2].

    Args:
        probs: ``(N, C)`` predicted probabilities.
        labels: ``(N,)`` true classes.
    """
    probs, labels = _check(probs, labels)
    p = probs.detach().double()
    onehot = torch.zeros_like(p).scatter_(1, labels[:, None], 1.0)
    return float(((p - onehot) ** 2).sum(dim=1).mean())


def calibration_metrics(
    probs: Tensor, labels: Tensor, n_bins: int = 15, *, log_probs: Tensor | None = None
) -> CalibrationMetrics:
    """Accuracy, ECE, MCE, NLL and Brier score of ``probs`` against ``labels``.

    Args:
        probs: ``(N, C)`` predicted probabilities.
        labels: ``(N,)`` true classes.
        n_bins: ECE bins. Defaults to 15.
        log_probs: the same predictions as log-probabilities (e.g. ``MCPrediction.log_probs``);
            the NLL is computed from them when given. Defaults to None.
    """
    bins = reliability_bins(probs, labels, n_bins)
    if log_probs is not None:
        if not isinstance(log_probs, Tensor) or log_probs.shape != probs.shape:
            shown = (f"log_probs.shape={tuple(log_probs.shape)}" if isinstance(log_probs, Tensor)
                     else f"log_probs of type {type(log_probs).__name__}")
            raise ValueError(invalid_argument("log_probs", f"a tensor of the shape of probs {tuple(probs.shape)}",
                                              log_probs, shown=shown))
        nll = negative_log_likelihood(log_probs, labels, log=True)
    else:
        nll = negative_log_likelihood(probs, labels)
    accuracy = float((probs.argmax(dim=1) == labels.to(probs.device)).double().mean())
    return CalibrationMetrics(accuracy=accuracy, ece=bins.ece, mce=bins.mce, nll=nll,
                              brier=brier_score(probs, labels), n=bins.n, bins=bins)

"""The one definition of every number derived from a run's metrics.

The diagnosis, the summary table, the figures, the progress lines and the recommender read these
functions; nothing else computes a gap, a best epoch or a "best" setting.

Definitions (``final`` is a run's ``RunResult.final``: loss and accuracy of the *final weights*
measured in eval mode, without dropout/noise/mixing, on the whole train, validation and test
splits; ``history`` is ``History.to_dict()``):

* **accuracy gap** :func:`acc_gap` = ``final["train_acc"] - final["val_acc"]`` (a fraction:
  0.30 = 30 accuracy points). Positive when the model fits its training data better.
* **loss gap** :func:`loss_gap` = ``final["val_loss"] - final["train_loss"]``.
* **test gaps** :func:`test_acc_gap` = ``train_acc - test_acc`` and :func:`test_loss_gap` =
  ``test_loss - train_loss``, the same with the test split.
* **the gap** :func:`gap`: the accuracy gap for classification, else (regression: no accuracy)
  the loss gap; :func:`gap_kind` says which.
* **best epoch** :func:`best_epoch`: the epoch of the lowest validation loss (first on ties).
  The per-epoch training metrics of a history are running averages with the regularizers active,
  so they never enter a gap; the validation curve is measured in eval mode every epoch.
* **peak epoch** :func:`peak_val_acc_epoch`: the first epoch of the highest validation accuracy.
* **validation-loss rise** :func:`val_loss_rise`: ``(end - min) / |min|`` of the validation loss,
  ``end`` the final weights' validation loss (``final["val_loss"]``: after early stopping restored
  the best weights, the minimum itself), else the last epoch's. The history's validation loss is
  the same plain loss on the same split in eval mode, so the two compare.
* **best of several** :func:`select_best`: always chosen on validation data (the mean validation
  accuracy, or the mean validation loss for regression); the test score is read once, beside it.
* **edge of a grid** :func:`grid_edge`: whether the best value of a swept field is the smallest or
  largest value tried (the optimum may lie outside the grid).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

__all__ = [
    "acc_gap",
    "loss_gap",
    "test_acc_gap",
    "test_loss_gap",
    "gap",
    "gap_kind",
    "best_epoch",
    "peak_val_acc_epoch",
    "val_loss_rise",
    "select_best",
    "grid_edge",
    "format_gap",
]

T = TypeVar("T")


def _num(metrics: Mapping[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def acc_gap(final: Mapping[str, Any]) -> float | None:
    """``train_acc - val_acc`` of the final weights (eval mode); None without both accuracies."""
    return _diff(_num(final, "train_acc"), _num(final, "val_acc"))


def loss_gap(final: Mapping[str, Any]) -> float | None:
    """``val_loss - train_loss`` of the final weights (eval mode); None without both losses."""
    return _diff(_num(final, "val_loss"), _num(final, "train_loss"))


def test_acc_gap(final: Mapping[str, Any]) -> float | None:
    """``train_acc - test_acc`` of the final weights; None without both accuracies."""
    return _diff(_num(final, "train_acc"), _num(final, "test_acc"))


def test_loss_gap(final: Mapping[str, Any]) -> float | None:
    """``test_loss - train_loss`` of the final weights; None without both losses."""
    return _diff(_num(final, "test_loss"), _num(final, "train_loss"))


def gap_kind(final: Mapping[str, Any]) -> str:
    """``"accuracy"`` when the run has train and validation accuracies, else ``"loss"``."""
    return "accuracy" if acc_gap(final) is not None else "loss"


def gap(final: Mapping[str, Any]) -> float:
    """The run's train-validation gap: :func:`acc_gap` for classification, else :func:`loss_gap`;
    ``nan`` when neither is defined."""
    value = acc_gap(final)
    if value is None:
        value = loss_gap(final)
    return math.nan if value is None else value


def format_gap(value: float, kind: str) -> str:
    """A gap as a reader sees it everywhere: ``"+29.8 pts"`` (accuracy) or ``"+0.123"`` (loss)."""
    if math.isnan(value):
        return "n/a"
    return f"{100 * value:+.1f} pts" if kind == "accuracy" else f"{value:+.3f}"


def _series(history: Mapping[str, Any], key: str) -> list[float]:
    values = history.get(key) or []
    return [math.nan if v is None else float(v) for v in values]


def _epochs(history: Mapping[str, Any], n: int) -> list[int]:
    epochs = history.get("epoch")
    return [int(e) for e in epochs] if epochs else list(range(1, n + 1))


def best_epoch(history: Mapping[str, Any]) -> int | None:
    """The epoch of the lowest finite validation loss (first on ties); None without one."""
    val = _series(history, "val_loss")
    idx = [i for i, v in enumerate(val) if math.isfinite(v)]
    if not idx:
        return None
    return _epochs(history, len(val))[min(idx, key=lambda i: (val[i], i))]


def peak_val_acc_epoch(history: Mapping[str, Any]) -> int | None:
    """The first epoch of the highest finite validation accuracy; None without one."""
    val = _series(history, "val_acc")
    idx = [i for i, v in enumerate(val) if math.isfinite(v)]
    if not idx:
        return None
    return _epochs(history, len(val))[max(idx, key=lambda i: (val[i], -i))]


def val_loss_rise(history: Mapping[str, Any], final: Mapping[str, Any] | None = None) -> float:
    """``(end - min) / |min|`` of the validation loss: 0.25 = the final weights' validation loss
    is 25% above the curve's minimum. ``end`` is ``final["val_loss"]`` when given, else the last
    epoch's. ``inf`` when ``end`` is not finite; ``nan`` without values."""
    val = _series(history, "val_loss")
    finite = [v for v in val if math.isfinite(v)]
    if not finite:
        return math.nan
    low, last = min(finite), val[-1]
    if final is not None and final.get("val_loss") is not None:
        last = float(final["val_loss"])
    if not math.isfinite(last):
        return math.inf
    if low == 0:
        return 0.0 if last == 0 else math.inf
    return (last - low) / abs(low)


def select_best(items: Sequence[T], val_score: Callable[[T], float], *,
                higher_is_better: bool = True) -> T | None:
    """The item with the best *validation* score (first on ties); None when no score is finite.

    Args:
        items: candidates (arms, sweep points).
        val_score: the validation score of one item (a mean over seeds); nan leaves it out.
        higher_is_better: True for accuracies, False for losses. Defaults to True.
    """
    sign = 1.0 if higher_is_better else -1.0
    best, best_score = None, -math.inf
    for item in items:
        score = val_score(item)
        if score is not None and math.isfinite(score) and sign * score > best_score:
            best, best_score = item, sign * score
    return best


def grid_edge(values: Sequence[Any], best: Any) -> str | None:
    """``"largest"`` / ``"smallest"`` when ``best`` is the largest / smallest of at least three
    distinct numeric ``values`` (None counts as the smallest: the technique switched off);
    None otherwise (inside the grid, or too few values to say)."""
    numeric = sorted({-math.inf if v is None else float(v) for v in values})
    if len(numeric) < 3:
        return None
    b = -math.inf if best is None else float(best)
    if b == numeric[-1]:
        return "largest"
    if b == numeric[0]:
        return "smallest"
    return None

"""Early stopping (Prechelt, "Early Stopping - But When?", Neural Networks: Tricks of the Trade,
1998; Keras/Lightning semantics for ``min_delta``, ``baseline`` and ``start_from_epoch``).

Deciding is :meth:`EarlyStopping.evaluate` (``(should_stop, reason)``, updates the counters);
acting is :meth:`EarlyStopping.on_epoch_end` (snapshot the best weights, ask the Trainer to stop)
and :meth:`EarlyStopping.on_fit_end` (restore the best weights). The restore happens however
training ends: patience exhausted, last epoch reached, divergence or ``KeyboardInterrupt`` (the
gap of Lightning's and old Keras' callbacks, which restored only when they stopped training).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from reglab._validate import check_choice, check_int, check_non_negative, check_range
from reglab.errors import invalid_argument
from reglab.training.callbacks import Callback

if TYPE_CHECKING:  # pragma: no cover
    from reglab.training.trainer import Trainer

__all__ = ["EarlyStopping", "check_monitor", "monitored_value"]

MODES = ("min", "max")


def _num(value: float) -> str:
    return f"{value:.4g}"


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def check_monitor(monitor: str, available: list[str]) -> None:
    """Raise unless ``monitor`` is one of the metric names ``available``."""
    if monitor not in available:
        raise ValueError(
            invalid_argument("monitor", "one of the logged metrics " + ", ".join(repr(a) for a in available), monitor)
        )


def monitored_value(monitor: str, logs: dict[str, Any]) -> float:
    """``logs[monitor]`` as a float; a missing or ``None`` metric raises and lists the logged ones."""
    value = logs.get(monitor)
    if value is None:
        check_monitor(monitor, [k for k, v in logs.items() if v is not None and k != "epoch"])
    return float(value)  # type: ignore[arg-type]


class EarlyStopping(Callback):
    """Stop when a monitored metric has stopped improving; keep the best weights.

    Each monitored epoch counts one epoch of waiting; an epoch whose value beats the best by
    more than ``min_delta`` becomes the new best and resets the wait, except that with a
    ``baseline`` the wait resets only when the value also beats the baseline (by more than
    ``min_delta``). Training stops at the end of the epoch where the wait reaches ``patience``.

    Args:
        monitor: metric of the epoch logs (``"val_loss"``, ``"val_acc"``, ``"train_loss"`` ...).
            Defaults to ``"val_loss"``.
        mode: ``"min"`` (lower is better) or ``"max"``. Defaults to ``"min"``.
        patience: epochs without improvement before stopping, an integer >= 0. Defaults to 10.
        min_delta: an improvement must beat the best by more than this, >= 0. Defaults to 0.0.
        baseline: value the metric must beat for the wait to reset. Defaults to None.
        start_from_epoch: number of initial (warm-up) epochs that are not monitored, >= 0.
            Defaults to 0.
        restore_best: load the best epoch's weights when training ends, however it ends.
            Defaults to True.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "min",
        patience: int = 10,
        min_delta: float = 0.0,
        baseline: float | None = None,
        start_from_epoch: int = 0,
        restore_best: bool = True,
    ) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(invalid_argument("monitor", "a metric name such as 'val_loss'", monitor))
        self.monitor = monitor
        self.mode = check_choice("mode", mode, MODES)
        self.patience = check_int("patience", patience, low=0)
        self.min_delta = check_non_negative("min_delta", min_delta)
        self.baseline = None if baseline is None else check_range("baseline", baseline)
        self.start_from_epoch = check_int("start_from_epoch", start_from_epoch, low=0)
        if not isinstance(restore_best, bool):
            raise ValueError(invalid_argument("restore_best", "True or False", restore_best))
        self.restore_best = restore_best
        self.reset()

    # -- state ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the previous fit: no best value, no waiting, no snapshot."""
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.best_weights: dict[str, torch.Tensor] | None = None

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best_weights": None
            if self.best_weights is None
            else {k: v.detach().cpu() for k, v in self.best_weights.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state["best"]
        self.best_epoch = state["best_epoch"]
        self.wait = state["wait"]
        self.stopped_epoch = state["stopped_epoch"]
        self.best_weights = state["best_weights"]

    # -- deciding ------------------------------------------------------------------------------
    def _improves(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return not math.isnan(value)
        if self.mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta

    def _by(self) -> str:
        return f" by more than {self.min_delta:g}" if self.min_delta > 0 else ""

    def _best_text(self) -> str:
        if self.best_epoch is None:
            return "no value counted as an improvement yet"
        return f"best {_num(self.best)} at epoch {self.best_epoch}"  # type: ignore[arg-type]

    def evaluate(self, value: float, epoch: int) -> tuple[bool, str]:
        """Count epoch ``epoch`` (1-based) with the monitored ``value``; return the decision.

        Returns ``(should_stop, reason)``; ``reason`` is a full sentence either way. Updates
        ``best``, ``best_epoch`` and ``wait``; takes no action.
        """
        if epoch <= self.start_from_epoch:
            return False, f"Epoch {epoch} is not monitored (start_from_epoch={self.start_from_epoch})."
        self.wait += 1
        improved = self._improves(value, self.best)
        if improved:
            self.best, self.best_epoch = float(value), epoch
            if self.baseline is None or self._improves(value, self.baseline):
                self.wait = 0
                return False, f"{self.monitor} improved to {_num(value)} at epoch {epoch}."
        if self.wait < self.patience:
            if improved:
                return False, (
                    f"{self.monitor} improved to {_num(value)} at epoch {epoch} but has not beaten the "
                    f"baseline {_num(self.baseline)}{self._by()} for {_epochs(self.wait)} of {self.patience}."  # type: ignore[arg-type]
                )
            return False, (
                f"{self.monitor} has not improved{self._by()} for {_epochs(self.wait)} of "
                f"{self.patience} ({self._best_text()})."
            )
        if self.baseline is not None and (self.best is None or not self._improves(self.best, self.baseline)):
            return True, (
                f"Stopped at epoch {epoch}: {self.monitor} did not beat the baseline "
                f"{_num(self.baseline)}{self._by()} within {_epochs(self.wait)} ({self._best_text()})."
            )
        return True, (
            f"Stopped at epoch {epoch}: {self.monitor} did not improve{self._by()} for "
            f"{_epochs(self.wait)} ({self._best_text()})."
        )

    # -- acting --------------------------------------------------------------------------------
    def on_fit_start(self, trainer: Trainer) -> None:
        check_monitor(self.monitor, trainer.metric_names())
        self.reset()

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        value = monitored_value(self.monitor, logs)
        should_stop, reason = self.evaluate(value, epoch)
        if self.restore_best and self.best_epoch == epoch:
            self.best_weights = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        if should_stop:
            self.stopped_epoch = epoch
            trainer.request_stop(reason)

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.best_epoch is not None:
            trainer.best_epoch = self.best_epoch
        if self.restore_best and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)
            trainer.restored_epoch = self.best_epoch

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(monitor={self.monitor!r}, mode={self.mode!r}, patience={self.patience}, "
            f"min_delta={self.min_delta}, baseline={self.baseline}, "
            f"start_from_epoch={self.start_from_epoch}, restore_best={self.restore_best})"
        )

"""The per-epoch record of a training run, as plain values.

Epochs are numbered from 1. ``History.to_dict()`` is the dict stored by the run store and read by
``reglab.analysis``; ``History.from_dict(h.to_dict()) == h`` always holds. The training metrics
are running averages with the regularizers active; gaps are never computed here but from the
final weights' eval-mode metrics (``reglab.analysis.quantities``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from reglab.errors import invalid_argument

__all__ = ["History", "METRICS", "diverged_line"]

# Per-epoch series, in the order of ``History.to_dict()``.
METRICS = (
    "epoch",
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "lr",
    "grad_norm_mean",
    "grad_norm_max",
    "seconds",
)


@dataclass
class History:
    """Per-epoch metrics of one ``Trainer.fit`` run plus how it ended.

    Attributes:
        epoch: 1-based epoch numbers of the recorded epochs.
        train_loss: mean of ``loss_fn`` over the epoch's training batches (weighted by batch size).
        train_acc: fraction of correct predictions on the training batches (classification only,
            else ``None``); against the arg-max of soft targets when a batch transform mixes.
        val_loss / val_acc: the same on the validation loader, in eval mode, under ``no_grad``
            (``None`` without a validation loader).
        lr: learning rate of the first parameter group during the epoch.
        grad_norm_mean / grad_norm_max: mean and max over the epoch's steps of the total L2 norm
            of the gradients before any clipping.
        seconds: wall-clock seconds of the epoch (training and validation).
        best_epoch: the epoch whose weights the model ends with when early stopping restores the
            best weights; otherwise the epoch of the lowest ``val_loss`` (``None`` without one).
        stopped_epoch: the epoch during which training ended (the last recorded epoch unless it
            diverged or was interrupted mid-epoch, whose epoch is not recorded).
        stop_reason: a full sentence saying why training ended and which weights were kept.
        diverged_epoch: the epoch whose loss became NaN/inf (training stopped there and the
            weights were rolled back to the previous epoch's), ``None`` when it did not diverge.
            A diverged run is a result: stores keep it as ``diverged`` with ``stop_reason``.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float | None] = field(default_factory=list)
    val_loss: list[float | None] = field(default_factory=list)
    val_acc: list[float | None] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norm_mean: list[float] = field(default_factory=list)
    grad_norm_max: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_epoch: int = 0
    stop_reason: str = ""
    diverged_epoch: int | None = None

    def __len__(self) -> int:
        return len(self.epoch)

    def append(self, logs: dict[str, Any]) -> None:
        """Record one epoch from a logs dict holding every name of :data:`METRICS`."""
        missing = [name for name in METRICS if name not in logs]
        if missing:
            raise ValueError(
                invalid_argument(
                    "logs",
                    "a dict with the keys " + ", ".join(repr(m) for m in METRICS),
                    logs,
                    shown="logs without " + ", ".join(repr(m) for m in missing),
                )
            )
        for name in METRICS:
            getattr(self, name).append(logs[name])

    def row(self, index: int) -> dict[str, Any]:
        """The metrics of one recorded epoch (``index`` into the lists, -1 for the last)."""
        return {name: getattr(self, name)[index] for name in METRICS}

    def best_val_epoch(self) -> int | None:
        """The epoch with the lowest finite ``val_loss`` (first on ties), ``None`` without any."""
        best, best_epoch = math.inf, None
        for epoch, value in zip(self.epoch, self.val_loss):
            if value is not None and math.isfinite(value) and value < best:
                best, best_epoch = value, epoch
        return best_epoch

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible dict with the keys of docs/contracts.md."""
        out: dict[str, Any] = {name: list(getattr(self, name)) for name in METRICS}
        out["best_epoch"] = self.best_epoch
        out["stopped_epoch"] = self.stopped_epoch
        out["stop_reason"] = self.stop_reason
        out["diverged_epoch"] = self.diverged_epoch
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Rebuild a History from :meth:`to_dict` output; unknown or missing keys raise.

        ``diverged_epoch`` may be missing (histories written before it existed): ``None``.
        """
        expected = set(METRICS) | {"best_epoch", "stopped_epoch", "stop_reason", "diverged_epoch"}
        keys = set(data) | {"diverged_epoch"}
        if keys != expected:
            parts = []
            if expected - keys:
                parts.append("missing " + ", ".join(repr(k) for k in sorted(expected - keys)))
            if keys - expected:
                parts.append("unknown " + ", ".join(repr(k) for k in sorted(keys - expected)))
            raise ValueError(
                invalid_argument(
                    "data",
                    "a dict with the keys of History.to_dict()",
                    data,
                    shown="data with " + " and ".join(parts) + " keys",
                )
            )
        lengths = {name: len(data[name]) for name in METRICS}
        if len(set(lengths.values())) != 1:
            raise ValueError(
                invalid_argument(
                    "data",
                    "per-epoch lists of equal length",
                    data,
                    shown="lengths " + ", ".join(f"{k}={v}" for k, v in lengths.items()),
                )
            )
        return cls(
            **{name: list(data[name]) for name in METRICS},
            best_epoch=data["best_epoch"],
            stopped_epoch=data["stopped_epoch"],
            stop_reason=data["stop_reason"],
            diverged_epoch=data.get("diverged_epoch"),
        )


def diverged_line(history: dict[str, Any]) -> str:
    """``"diverged in epoch N: <stop reason>"`` for a diverged run's ``History.to_dict()``."""
    epoch = history["diverged_epoch"]
    reason = str(history.get("stop_reason", ""))
    prefix = f"Stopped at epoch {epoch}: "
    return f"diverged in epoch {epoch}: {reason[len(prefix):] if reason.startswith(prefix) else reason}"

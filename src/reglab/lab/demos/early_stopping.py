"""Demo 4, early stopping: where it stops, the best epoch, the restored model, and what follows.

Training stops once the validation loss has not improved by more than ``min_delta`` for
``patience`` epochs, and the weights of the best epoch are restored (Prechelt 1998, "Early
Stopping - But When?", Neural Networks: Tricks of the Trade, LNCS 1524). With
``continue_past_stop`` the same run (same seed, so the same numbers up to the stop) keeps
training to ``epochs`` and marks where it would have stopped.
"""

from __future__ import annotations

from typing import Any

import torch

from reglab.lab.demos.common import (
    SeedGate,
    StreamCallback,
    clean,
    fit,
    prepare_mlp,
    start_payload,
)
from reglab.lab.schemas import EarlyStoppingParams
from reglab.training import Callback

__all__ = ["prepare"]


class _StopWatch(Callback):
    """Placed after ``EarlyStopping``: emits a ``stop`` event the first time it decides to stop;
    with ``keep_going`` it clears the decision so training continues past it."""

    order = 1  # after EarlyStopping (order 0) has decided

    def __init__(self, job: Any, keep_going: bool) -> None:
        self.job = job
        self.keep_going = keep_going
        self.stop_epoch: int | None = None
        self.reason: str | None = None

    def on_epoch_end(self, trainer: Any, epoch: int, logs: Any) -> None:
        if not trainer.should_stop or self.job.should_cancel:
            return
        if self.stop_epoch is None:
            self.stop_epoch = epoch
            self.reason = str(trainer.stop_reason)
            self.job.emit("stop", {"epoch": epoch, "reason": self.reason, "continuing": self.keep_going})
        if self.keep_going:
            trainer.should_stop = False
            trainer.stop_reason = ""


def prepare(params: EarlyStoppingParams) -> Any:
    splits, model, grid = prepare_mlp(params)
    num_classes = splits.info.num_classes

    def run(job: Any) -> dict[str, Any]:
        from reglab.training import EarlyStopping, Trainer

        train_loader, val_loader, _ = splits.loaders(params.batch_size, seed=params.seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=params.lr)
        stopper = EarlyStopping(monitor="val_loss", mode="min", patience=params.patience,
                                min_delta=params.min_delta, restore_best=True)
        watch = _StopWatch(job, keep_going=params.continue_past_stop)
        gate = SeedGate()
        stream = StreamCallback(job, num_classes, grid=grid, boundary_every=5, epochs=params.epochs)
        job.emit("start", start_payload(splits, grid, params.epochs))
        trainer = Trainer(model, optimizer, train_loader=train_loader, val_loader=val_loader,
                          callbacks=[gate, stream, stopper, watch], epochs=params.epochs, seed=params.seed,
                          progress=False)
        history = fit(trainer, gate).to_dict()
        restored = trainer.evaluate(val_loader)  # the weights the run ends with: the best epoch's
        out = {
            "history": history,
            "best_epoch": history.get("best_epoch"),
            "stopped_epoch": history.get("stopped_epoch"),
            "stop_reason": history.get("stop_reason"),
            "early_stop_epoch": watch.stop_epoch,
            "early_stop_reason": watch.reason,
            "restored": {"val_loss": restored["loss"], "val_acc": restored.get("acc")},
            "restored_boundary": grid.evaluate(model) if grid is not None else None,
        }
        return clean(out)

    return run

"""Demo 1, overfitting in action: train an MLP and stream train/validation curves and a verdict.

Small training sets, label noise and a large model make the validation loss turn up while the
training loss keeps falling (Zhang et al. 2017, "Understanding deep learning requires rethinking
generalization", ICLR, arXiv:1611.03530). The verdict of every epoch is
``reglab.analysis.diagnose`` on the curves so far.
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
from reglab.lab.schemas import OverfitParams

__all__ = ["prepare"]


def prepare(params: OverfitParams) -> Any:
    """Load the data and build the model now; return the runner that trains them."""
    splits, model, grid = prepare_mlp(params)
    num_classes = splits.info.num_classes

    def run(job: Any) -> dict[str, Any]:
        from reglab.training import Trainer

        train_loader, val_loader, _ = splits.loaders(params.batch_size, seed=params.seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=params.lr)
        gate = SeedGate()
        stream = StreamCallback(job, num_classes, grid=grid, boundary_every=params.boundary_every,
                                epochs=params.epochs)
        job.emit("start", start_payload(splits, grid, params.epochs))
        trainer = Trainer(model, optimizer, train_loader=train_loader, val_loader=val_loader,
                          callbacks=[gate, stream], epochs=params.epochs, seed=params.seed, progress=False)
        history = fit(trainer, gate).to_dict()
        return clean({"history": history, "best_epoch": history.get("best_epoch"),
                      "stopped_epoch": history.get("stopped_epoch"), "stop_reason": history.get("stop_reason")})

    return run

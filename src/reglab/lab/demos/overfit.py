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
    BoundaryGrid,
    SeedGate,
    StreamCallback,
    build_mlp,
    clean,
    fit,
    info_payload,
    load_splits,
    points_payload,
)
from reglab.lab.schemas import DATASETS_2D, OverfitParams

__all__ = ["prepare"]


def prepare(params: OverfitParams) -> Any:
    """Load the data and build the model now; return the runner that trains them."""
    splits = load_splits(params.dataset, seed=params.seed, train_size=params.train_size,
                         label_noise=params.label_noise)
    model = build_mlp(splits, width=params.width, depth=params.depth, seed=params.seed)
    num_classes = splits.info.num_classes
    grid = BoundaryGrid(splits.x_train, num_classes) if params.dataset in DATASETS_2D else None

    def run(job: Any) -> dict[str, Any]:
        from reglab.training import Trainer

        train_loader, val_loader, _ = splits.loaders(params.batch_size, seed=params.seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=params.lr)
        gate = SeedGate()
        stream = StreamCallback(job, num_classes, grid=grid, boundary_every=params.boundary_every,
                                epochs=params.epochs)
        job.emit("start", {"info": info_payload(splits), "points": points_payload(splits),
                           "grid": grid.axes() if grid is not None else None, "epochs": params.epochs})
        trainer = Trainer(model, optimizer, train_loader=train_loader, val_loader=val_loader,
                          callbacks=[gate, stream], epochs=params.epochs, seed=params.seed, progress=False)
        history = fit(trainer, gate).to_dict()
        return clean({"history": history, "best_epoch": history.get("best_epoch"),
                      "stopped_epoch": history.get("stopped_epoch"), "stop_reason": history.get("stop_reason")})

    return run

"""MC dropout: train an MLP with dropout, then map its predictive mean and spread over the plane.

Gal & Ghahramani 2016 ("Dropout as a Bayesian Approximation: Representing Model Uncertainty in
Deep Learning", ICML, arXiv:1506.02142): keeping dropout on at test time and averaging ``T``
stochastic passes approximates a Bayesian posterior predictive; the passes' spread measures the
model's uncertainty. The ``done`` payload holds, per grid cell, the mean of P(class 1) over the
passes (``mean``) and their standard deviation (``spread``), and both averaged over the training
points and over the cells farther from every training point than the median cell (``far``).
"""

from __future__ import annotations

from typing import Any

import torch

from reglab.lab.demos.common import SeedGate, StreamCallback, build_mlp, clean, fit, load_splits, start_payload
from reglab.lab.demos.common import BoundaryGrid
from reglab.lab.schemas import McDropoutParams

__all__ = ["prepare", "mc_maps"]


@torch.no_grad()
def mc_maps(model: torch.nn.Module, points: torch.Tensor, samples: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mean, std)`` of P(class 1) over ``samples`` passes in training mode (dropout on), per point."""
    was_training = model.training
    model.train()
    try:
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            probs = torch.stack([torch.softmax(model(points), dim=1)[:, 1] for _ in range(samples)])
    finally:
        model.train(was_training)
    return probs.mean(dim=0), probs.std(dim=0)


def prepare(params: McDropoutParams) -> Any:
    splits = load_splits(params.dataset, seed=params.seed, train_size=params.train_size,
                         label_noise=params.label_noise)
    model = build_mlp(splits, width=params.width, depth=params.depth, seed=params.seed, dropout=params.dropout)
    grid = BoundaryGrid(splits.x_train, splits.info.num_classes)

    def run(job: Any) -> dict[str, Any]:
        from reglab.training import Trainer

        train_loader, val_loader, _ = splits.loaders(params.batch_size, seed=params.seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=params.lr)
        gate = SeedGate()
        stream = StreamCallback(job, splits.info.num_classes, grid=grid, boundary_every=5, epochs=params.epochs)
        job.emit("start", start_payload(splits, grid, params.epochs))
        trainer = Trainer(model, optimizer, train_loader=train_loader, val_loader=val_loader, callbacks=[gate, stream],
                          epochs=params.epochs, seed=params.seed, progress=False)
        history = fit(trainer, gate).to_dict()
        mean, std = mc_maps(model, grid.points, params.samples, params.seed)
        _, std_train = mc_maps(model, splits.x_train, params.samples, params.seed)
        distance = torch.cdist(grid.points, splits.x_train).min(dim=1).values
        far = distance > distance.median()
        size = grid.size
        return clean({
            "history": history,
            "mean": [[round(v, 3) for v in row] for row in mean.reshape(size, size).tolist()],
            "spread": [[round(v, 3) for v in row] for row in std.reshape(size, size).tolist()],
            "spread_on_train": float(std_train.mean()),
            "spread_far": float(std[far].mean()),
            "spread_max": float(std.max()),
            "samples": params.samples,
        })

    return run

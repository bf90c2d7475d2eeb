"""Stochastic depth: a residual MLP whose blocks are skipped at random, deeper blocks more often.

Huang et al. 2016 ("Deep Networks with Stochastic Depth", ECCV, arXiv:1603.09382): in training,
each residual block's branch is dropped per sample (the identity path stays), with drop rates
from ``reglab.functional.drop_path_rates(max_rate, blocks, "linear")``: 0 for the first block up
to ``max_rate`` for the last. At inference every block runs (inverted scaling, so nothing is
rescaled). The twin with ``max_rate = 0`` trains beside it on the same batches from the same
initial weights; each epoch event of the stochastic arm carries the fraction of samples each
block actually dropped during that epoch (``dropped``), next to the schedule (``rates``).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import torch
from torch import nn

from reglab.lab.demos.common import (
    SEED_LOCK,
    BoundaryGrid,
    SeedGate,
    StreamCallback,
    clean,
    fit,
    load_splits,
    start_payload,
)
from reglab.lab.schemas import StochasticDepthParams

__all__ = ["prepare", "ResidualMLP"]


class ResidualMLP(nn.Module):
    """``stem -> blocks x (x + drop_path(Linear-ReLU-Linear(x))) -> ReLU -> head``; counts the drops."""

    def __init__(self, in_features: int, num_classes: int, width: int, rates: list[float], seed: int) -> None:
        super().__init__()
        self.stem = nn.Linear(in_features, width)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width)) for _ in rates)
        self.head = nn.Linear(width, num_classes)
        self.rates = list(rates)
        self.generator = torch.Generator().manual_seed(seed)
        self.dropped = [0] * len(rates)
        self.seen = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from reglab.functional import drop_path

        h = self.stem(x)
        if self.training:
            self.seen += x.shape[0]
        for i, (block, p) in enumerate(zip(self.blocks, self.rates)):
            branch = block(torch.relu(h))
            if self.training and p > 0:
                keep = drop_path(torch.ones(x.shape[0], 1), p, training=True, generator=self.generator)
                self.dropped[i] += int((keep == 0).sum())
                branch = branch * keep
            h = h + branch
        return self.head(torch.relu(h))

    def take_counts(self) -> list[float]:
        """Fraction of training samples whose branch each block dropped since the last call."""
        out = [d / self.seen if self.seen else 0.0 for d in self.dropped]
        self.dropped = [0] * len(self.rates)
        self.seen = 0
        return out


def prepare(params: StochasticDepthParams) -> Any:
    from reglab.functional import drop_path_rates

    splits = load_splits(params.dataset, seed=params.seed, train_size=params.train_size,
                         label_noise=params.label_noise)
    rates = drop_path_rates(params.max_rate, params.blocks, "linear")
    with SEED_LOCK:
        torch.manual_seed(params.seed)
        stochastic = ResidualMLP(2, splits.info.num_classes, params.width, rates, params.seed)
    plain = copy.deepcopy(stochastic)
    plain.rates = [0.0] * params.blocks
    grid = BoundaryGrid(splits.x_train, splits.info.num_classes)

    def train(job: Any, arm: str, model: ResidualMLP, out: dict[str, Any]) -> None:
        from reglab.training import Trainer

        torch.set_num_threads(1)
        try:
            train_loader, val_loader, _ = splits.loaders(params.batch_size, seed=params.seed)
            optimizer = torch.optim.Adam(model.parameters(), lr=params.lr)
            gate = SeedGate()
            extra = (lambda trainer: {"dropped": model.take_counts()}) if arm == "stochastic" else None
            stream = StreamCallback(job, splits.info.num_classes, grid=grid, boundary_every=5, arm=arm,
                                    epochs=params.epochs, extra=extra)
            trainer = Trainer(model, optimizer, train_loader=train_loader, val_loader=val_loader,
                              callbacks=[gate, stream], epochs=params.epochs, seed=params.seed, progress=False)
            out[arm] = {"history": fit(trainer, gate).to_dict()}
        except BaseException as exc:  # re-raised in the job thread
            out[arm + "_error"] = exc
            job.cancel()

    def run(job: Any) -> dict[str, Any]:
        job.emit("start", start_payload(splits, grid, params.epochs, rates=rates))
        out: dict[str, Any] = {}
        other = threading.Thread(target=train, args=(job, "plain", plain, out), daemon=True)
        other.start()
        train(job, "stochastic", stochastic, out)
        other.join()
        for arm in ("stochastic", "plain"):
            if arm + "_error" in out:
                raise out[arm + "_error"]
        from reglab.lab.demos.overfit import compare

        sentence = compare([f"stochastic depth (last block {params.max_rate:g})"],
                           out["stochastic"]["history"], out["plain"]["history"])
        return clean({**out, "rates": rates, "comparison": sentence})

    return run

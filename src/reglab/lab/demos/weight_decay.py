"""Demo 3, weight decay: an L1 or L2 penalty's decision boundary beside an unregularized twin.

Both models start from the same weights and see the same batches; the regularized one adds
``lam * l2_penalty(W)`` (Krogh & Hertz 1992, "A Simple Weight Decay Can Improve
Generalization", NeurIPS) or ``lam * l1_penalty(W)`` (Tibshirani 1996, "Regression Shrinkage
and Selection via the Lasso", JRSS-B) over the weight matrices (``dim >= 2``; biases are not
penalized) to its loss. Each epoch streams both models' curves, weight norm and the number of
weights with ``|w| < zero_tol``, and every few epochs both decision-boundary heatmaps. The
optimizer is SGD with momentum 0.9 by default, Adam on request (see ``WeightDecayParams``).
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import torch

from reglab.lab.demos.common import (
    SeedGate,
    StreamCallback,
    clean,
    fit,
    prepare_mlp,
    start_payload,
    weight_stats,
)
from reglab.lab.schemas import FINE_GRID_SIZE, WeightDecayParams

__all__ = ["prepare", "penalty_term", "make_optimizer", "SGD_MOMENTUM"]

SGD_MOMENTUM = 0.9


def make_optimizer(name: str, model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    """``torch.optim.SGD(momentum=0.9)`` or ``torch.optim.Adam`` (its defaults) over all parameters."""
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=SGD_MOMENTUM)
    return torch.optim.Adam(model.parameters(), lr=lr)


def penalty_term(kind: str, lam: float) -> Any:
    """``model -> lam * penalty(weight matrices)`` for the Trainer's ``penalties``, or None."""
    if kind == "none" or lam == 0.0:
        return None
    from reglab.penalties import l1_penalty, l2_penalty

    fn = l1_penalty if kind == "l1" else l2_penalty

    def term(model: torch.nn.Module) -> torch.Tensor:
        return lam * fn([p for p in model.parameters() if p.dim() >= 2])

    return term


def prepare(params: WeightDecayParams) -> Any:
    # a 2-D dataset: grid is never None; finer than the other demos', so the smoother boundary shows
    splits, regularized, grid = prepare_mlp(params, FINE_GRID_SIZE)
    baseline = copy.deepcopy(regularized)  # the same initial weights
    num_classes = splits.info.num_classes
    term = penalty_term(params.penalty, params.lam)

    def train(job: Any, arm: str, model: torch.nn.Module, penalties: tuple[Any, ...], out: dict[str, Any]) -> None:
        from reglab.training import Trainer

        torch.set_num_threads(1)
        try:
            train_loader, val_loader, _ = splits.loaders(params.batch_size, seed=params.seed)
            optimizer = make_optimizer(params.optimizer, model, params.lr)
            gate = SeedGate()
            stream = StreamCallback(job, num_classes, grid=grid, boundary_every=params.boundary_every,
                                    arm=arm, epochs=params.epochs,
                                    extra=lambda trainer: weight_stats(trainer.model, params.zero_tol))
            trainer = Trainer(model, optimizer, train_loader=train_loader, val_loader=val_loader,
                              callbacks=[gate, stream], epochs=params.epochs, seed=params.seed,
                              penalties=penalties, progress=False)
            out[arm] = {"history": fit(trainer, gate).to_dict(), **weight_stats(model, params.zero_tol)}
        except BaseException as exc:  # re-raised in the job thread
            out[arm + "_error"] = exc
            job.cancel()

    def run(job: Any) -> dict[str, Any]:
        job.emit("start", start_payload(splits, grid, params.epochs,
                                        n_weights=weight_stats(regularized, params.zero_tol)["n_weights"]))
        out: dict[str, Any] = {}
        other = threading.Thread(target=train, args=(job, "baseline", baseline, (), out), daemon=True)
        other.start()
        train(job, "regularized", regularized, (term,) if term is not None else (), out)
        other.join()
        for arm in ("regularized", "baseline"):
            if arm + "_error" in out:
                raise out[arm + "_error"]
        return clean(out)

    return run

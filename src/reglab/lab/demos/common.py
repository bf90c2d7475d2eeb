"""Pieces the training demos share: data, model, decision-boundary grid, streaming callback.

Everything is built with reglab's own modules (``reglab.data.load``, ``reglab.models.build``,
``reglab.training.Trainer``) in the same order as the "copy as code" snippet of
:mod:`reglab.lab.codegen`, so a snippet run with the page's settings gives the page's numbers.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import torch

from reglab.lab.schemas import DATASETS_2D, GRID_SIZE
from reglab.training import Callback

__all__ = [
    "load_splits",
    "build_mlp",
    "BoundaryGrid",
    "StreamCallback",
    "clean",
    "weight_stats",
    "CANCEL_REASON",
    "SEED_LOCK",
    "SeedGate",
    "fit",
    "prepare_mlp",
    "start_payload",
]

CANCEL_REASON = "Cancelled: the page went away or the job was stopped."
GRID_MARGIN = 0.25  # fraction of the data range added on each side of the heatmap


def clean(value: Any, digits: int = 5) -> Any:
    """JSON-safe, rounded: floats to ``digits`` significant places, NaN/inf to None, tensors to lists."""
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: clean(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v, digits) for v in value]
    return value


def load_splits(dataset: str, *, seed: int, train_size: int, label_noise: float) -> Any:
    """``reglab.data.load`` with the lab's settings (validation split: the default 20%)."""
    from reglab.data import load

    return load(dataset, seed=seed, train_size=train_size, label_noise=label_noise)


#: Held while a thread seeds PyTorch's global generator and draws from it (model init, the start
#: of ``Trainer.fit``), so concurrent jobs cannot reseed each other's initial weights.
SEED_LOCK = threading.Lock()


def build_mlp(splits: Any, *, width: int, depth: int, seed: int, dropout: float = 0.0) -> torch.nn.Module:
    """``reglab.models.build("mlp", ...)`` after ``torch.manual_seed(seed)`` (the initial weights)."""
    from reglab.models import build

    with SEED_LOCK:
        torch.manual_seed(seed)
        return build("mlp", splits.info.input_shape, splits.info.num_classes, width=width, depth=depth,
                     dropout=dropout)


class SeedGate(Callback):
    """First callback of every lab Trainer: releases :data:`SEED_LOCK`, which :func:`fit` takes
    before ``Trainer.fit`` seeds the global generator, once ``on_fit_start`` is reached."""

    order = -1000

    def __init__(self) -> None:
        self.held = False

    def release(self) -> None:
        if self.held:
            self.held = False
            SEED_LOCK.release()

    def on_fit_start(self, trainer: Any) -> None:
        self.release()


def fit(trainer: Any, gate: SeedGate) -> Any:
    """``trainer.fit()`` with the global seeding at its start done under :data:`SEED_LOCK`."""
    SEED_LOCK.acquire()
    gate.held = True
    try:
        return trainer.fit()
    finally:
        gate.release()


class BoundaryGrid:
    """A ``GRID_SIZE`` x ``GRID_SIZE`` grid over the 2-D training data and the model's map on it."""

    def __init__(self, x_train: torch.Tensor, num_classes: int, size: int = GRID_SIZE) -> None:
        lo = x_train.min(dim=0).values
        hi = x_train.max(dim=0).values
        pad = (hi - lo) * GRID_MARGIN
        lo, hi = lo - pad, hi + pad
        self.xs = torch.linspace(float(lo[0]), float(hi[0]), size)
        self.ys = torch.linspace(float(lo[1]), float(hi[1]), size)
        gy, gx = torch.meshgrid(self.ys, self.xs, indexing="ij")  # (size, size): row = y, column = x
        self.points = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (size*size, 2)
        self.size = size
        self.num_classes = num_classes

    def axes(self) -> dict[str, Any]:
        return {"x": clean(self.xs, 4), "y": clean(self.ys, 4)}

    @torch.no_grad()
    def evaluate(self, model: torch.nn.Module) -> dict[str, Any]:
        """Binary: P(class 1) per cell; more classes: the predicted class per cell (eval mode)."""
        was_training = model.training
        model.eval()
        try:
            probs = torch.softmax(model(self.points), dim=1)
        finally:
            model.train(was_training)
        if self.num_classes == 2:
            z = probs[:, 1].reshape(self.size, self.size)
            return {"kind": "prob", "z": [[round(v, 3) for v in row] for row in z.tolist()]}
        z = probs.argmax(dim=1).reshape(self.size, self.size)
        return {"kind": "class", "z": z.tolist()}


def points_payload(splits: Any) -> dict[str, Any] | None:
    """The 2-D train and validation points with their (possibly noisy) labels, for the scatter."""
    if splits.info.name not in DATASETS_2D:
        return None
    return {
        "train": {"x": clean(splits.x_train[:, 0], 4), "y": clean(splits.x_train[:, 1], 4),
                  "label": splits.y_train.tolist()},
        "val": {"x": clean(splits.x_val[:, 0], 4), "y": clean(splits.x_val[:, 1], 4),
                "label": splits.y_val.tolist()},
    }


def info_payload(splits: Any) -> dict[str, Any]:
    info = splits.info
    return {
        "name": info.name,
        "input_shape": list(info.input_shape),
        "num_classes": info.num_classes,
        "n_train": info.n_train,
        "n_val": info.n_val,
        "n_test": info.n_test,
        "label_noise": info.label_noise,
        "n_flipped": info.n_flipped,
    }


def prepare_mlp(params: Any, grid_size: int = GRID_SIZE) -> tuple[Any, torch.nn.Module, BoundaryGrid | None]:
    """``(splits, model, grid)`` of an MLP demo: :func:`load_splits` and :func:`build_mlp` from
    ``params`` (``dataset, seed, train_size, label_noise, width, depth``), and the decision-boundary
    grid of the training points for a 2-D dataset (None otherwise)."""
    splits = load_splits(params.dataset, seed=params.seed, train_size=params.train_size,
                         label_noise=params.label_noise)
    model = build_mlp(splits, width=params.width, depth=params.depth, seed=params.seed)
    grid = (BoundaryGrid(splits.x_train, splits.info.num_classes, grid_size)
            if params.dataset in DATASETS_2D else None)
    return splits, model, grid


def start_payload(splits: Any, grid: BoundaryGrid | None, epochs: int, **extra: Any) -> dict[str, Any]:
    """The ``start`` event of a training demo: dataset info, training points, grid axes, epochs,
    then ``extra``."""
    return {"info": info_payload(splits), "points": points_payload(splits),
            "grid": grid.axes() if grid is not None else None, "epochs": epochs, **extra}


def weight_stats(model: torch.nn.Module, zero_tol: float) -> dict[str, Any]:
    """L2 norm of the weight matrices (``dim >= 2``, the penalized ones) and how many are ~0."""
    weights = [p.detach().reshape(-1) for p in model.parameters() if p.dim() >= 2]
    flat = torch.cat(weights)
    return {
        "weight_norm": float(flat.norm()),
        "near_zero": int((flat.abs() < zero_tol).sum()),
        "n_weights": int(flat.numel()),
    }


HISTORY_KEYS = ("train_loss", "val_loss", "train_acc", "val_acc")


class StreamCallback(Callback):
    """Emits one ``epoch`` event per epoch (curves, gap, best epoch, verdict, heatmap) and
    stops the Trainer when the job is cancelled.

    Args:
        job: the :class:`~reglab.lab.jobs.Job` to emit on.
        num_classes: classes of the task (feeds ``reglab.analysis.diagnose``).
        grid: the boundary grid for 2-D data, or None. Defaults to None.
        boundary_every: epochs between heatmaps (the first and last epoch always get one).
            Defaults to 5.
        arm: a tag added to every event (the weight-decay demo trains two arms). Defaults to None.
        extra: ``extra(trainer) -> dict`` merged into each event. Defaults to None.
        epoch_offset: added to the Trainer's epoch numbers. Defaults to 0.
    """

    def __init__(self, job: Any, num_classes: int, *, grid: BoundaryGrid | None = None, boundary_every: int = 5,
                 arm: str | None = None, extra: Any = None, epochs: int | None = None) -> None:
        self.job = job
        self.num_classes = num_classes
        self.grid = grid
        self.boundary_every = boundary_every
        self.arm = arm
        self.extra = extra
        self.epochs = epochs
        self.history: dict[str, list[Any]] = {"epoch": [], **{k: [] for k in HISTORY_KEYS}, "gap": []}
        job.register_arm(arm)

    def on_batch_end(self, trainer: Any, batch: int, logs: Any) -> None:
        if self.job.should_cancel:
            trainer.request_stop(CANCEL_REASON)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: Any) -> None:
        from reglab.analysis import diagnose
        from reglab.analysis import quantities as Q

        h = self.history
        h["epoch"].append(epoch)
        for key in HISTORY_KEYS:
            h[key].append(_as_float(logs.get(key)))
        h["gap"].append(Q.acc_gap({"train_acc": h["train_acc"][-1], "val_acc": h["val_acc"][-1]}))
        diagnosis = diagnose(h, num_classes=self.num_classes).to_dict()
        event: dict[str, Any] = {
            "epoch": epoch,
            **{key: h[key][-1] for key in HISTORY_KEYS},
            "gap": h["gap"][-1],
            "best_epoch": diagnosis["best_epoch"],
            "verdict": diagnosis["verdict"],
            "sentence": diagnosis["sentence"],
        }
        if self.arm is not None:
            event["arm"] = self.arm
        if self.extra is not None:
            event.update(self.extra(trainer))
        last = self.epochs is not None and epoch >= self.epochs
        if self.grid is not None and (epoch == 1 or epoch % self.boundary_every == 0 or last):
            event["boundary"] = self.grid.evaluate(trainer.model)
        self.job.emit("epoch", clean(event))
        self.job.wait_if_paused(self.arm)  # pause / single-step from the page
        if self.job.should_cancel:
            trainer.request_stop(CANCEL_REASON)


def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None

"""Checkpoints: weights in safetensors, the rest of the training state beside them.

A checkpoint is a folder holding ``model.safetensors`` (the model's weights, safetensors) and
``state.pt`` (optimizer, LR scheduler, RNG states, callback states, history, epoch counters) saved
with ``torch.save`` and read back with ``torch.load(weights_only=True)``: loading never unpickles
arbitrary objects. Folders are written beside the target and swapped in, so a crash while saving
leaves the previous checkpoint intact.

``Trainer.fit(resume_from=folder)`` continues a run stopped after epoch k so that it ends with the
same weights, bit for bit on CPU, as the uninterrupted run with the same seed.
"""

from __future__ import annotations

import math
import os
import pickle
import random
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_model, save_model

from reglab._validate import check_choice
from reglab.errors import CheckpointError, invalid_argument
from reglab.training.callbacks import Callback
from reglab.training.early_stopping import check_monitor, monitored_value

if TYPE_CHECKING:  # pragma: no cover
    from reglab.training.trainer import Trainer

__all__ = [
    "ModelCheckpoint",
    "save_checkpoint",
    "load_checkpoint",
    "resolve_checkpoint",
    "rng_state",
    "set_rng_state",
]

WEIGHTS = "model.safetensors"
STATE = "state.pt"
FORMAT = 1


# -- RNG -------------------------------------------------------------------------------------------
def rng_state(generators: dict[str, torch.Generator]) -> dict[str, Any]:
    """Global RNG states (torch CPU and CUDA, NumPy, ``random``) and those of ``generators``."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
        "python": random.getstate(),
        "generators": {name: g.get_state() for name, g in generators.items()},
    }


def set_rng_state(state: dict[str, Any], generators: dict[str, torch.Generator]) -> None:
    """Restore :func:`rng_state` output into the global RNGs and ``generators``."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    saved = state["generators"]
    if set(saved) != set(generators):
        raise CheckpointError(
            "The checkpoint's random generators do not match this run: expected "
            f"{sorted(generators)}, found {sorted(saved)}."
        )
    for name, generator in generators.items():
        generator.set_state(saved[name])


# -- files -----------------------------------------------------------------------------------------
def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """The checkpoint folder at ``path``, or ``path/last`` when ``path`` is a ModelCheckpoint folder."""
    path = Path(path)
    for candidate in (path, path / "last"):
        if (candidate / STATE).is_file() and (candidate / WEIGHTS).is_file():
            return candidate
    raise CheckpointError(
        f"No checkpoint found at {str(path)!r}: expected a folder with {WEIGHTS} and {STATE} "
        "(or a ModelCheckpoint folder with a last/ subfolder holding them)."
    )


def save_checkpoint(path: str | os.PathLike[str], model: torch.nn.Module, state: dict[str, Any]) -> Path:
    """Write ``model``'s weights and ``state`` into the folder ``path``, replacing it atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    old = path.with_name(path.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_model(model, str(tmp / WEIGHTS))
    torch.save({"format": FORMAT, **state}, tmp / STATE)
    if path.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)
    return path


def load_checkpoint(path: str | os.PathLike[str], model: torch.nn.Module) -> dict[str, Any]:
    """Load the weights at ``path`` into ``model`` and return the training state.

    Raises:
        CheckpointError: no checkpoint there, a file that is corrupt or holds objects other than
            tensors and plain values, or weights that do not match ``model``.
    """
    folder = resolve_checkpoint(path)
    try:
        state = torch.load(folder / STATE, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"Cannot read {str(folder / STATE)!r}: it is corrupt or holds objects other than tensors and "
            f"plain values, which are never unpickled ({first})."
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(
            f"{str(folder / STATE)!r} is not a reglab checkpoint: expected format {FORMAT}, "
            f"found {state.get('format') if isinstance(state, dict) else type(state).__name__!r}."
        )
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    try:
        load_model(model, str(folder / WEIGHTS), strict=True, device=str(device))
    except SafetensorError as exc:
        raise CheckpointError(f"Cannot read {str(folder / WEIGHTS)!r}: it is not a valid safetensors file ({exc}).") from None
    except (RuntimeError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise CheckpointError(
            f"The weights in {str(folder / WEIGHTS)!r} do not match the model: {first}"
        ) from None
    return state


# -- callback --------------------------------------------------------------------------------------
class ModelCheckpoint(Callback):
    """Save the last and/or the best epoch as resumable checkpoints.

    ``dirpath/last`` is rewritten at the end of every epoch; ``dirpath/best`` whenever the
    monitored metric improves on its best (strictly). Both hold the full training state, so
    ``Trainer.fit(resume_from=dirpath)`` resumes from ``last``. Runs after the other callbacks
    (``order = 100``) so a checkpoint records their decisions of the same epoch.

    Args:
        dirpath: folder of the checkpoints (created when missing).
        save_best: keep the best epoch's checkpoint. Defaults to True.
        save_last: keep the last epoch's checkpoint. Defaults to True.
        monitor: metric deciding the best epoch. Defaults to ``"val_loss"``.
        mode: ``"min"`` or ``"max"``. Defaults to ``"min"``.
    """

    order = 100

    def __init__(
        self,
        dirpath: str | os.PathLike[str],
        save_best: bool = True,
        save_last: bool = True,
        monitor: str = "val_loss",
        mode: str = "min",
    ) -> None:
        if not isinstance(dirpath, (str, os.PathLike)) or not str(dirpath):
            raise ValueError(invalid_argument("dirpath", "a folder path", dirpath))
        self.dirpath = Path(dirpath)
        self.save_best = bool(save_best)
        self.save_last = bool(save_last)
        if not (self.save_best or self.save_last):
            raise ValueError(
                invalid_argument("save_last", "True when save_best is False (else nothing is saved)", save_last)
            )
        self.monitor = monitor
        self.mode = check_choice("mode", mode, ("min", "max"))
        self.best: float | None = None
        self.best_epoch: int | None = None

    @property
    def last_path(self) -> Path:
        return self.dirpath / "last"

    @property
    def best_path(self) -> Path:
        return self.dirpath / "best"

    def on_fit_start(self, trainer: Trainer) -> None:
        if self.save_best:
            check_monitor(self.monitor, trainer.metric_names())
        self.best, self.best_epoch = None, None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        improved = False
        if self.save_best:
            value = monitored_value(self.monitor, logs)
            if math.isnan(value):
                pass
            elif self.best is None or (value < self.best if self.mode == "min" else value > self.best):
                self.best, self.best_epoch, improved = value, epoch, True
        # The checkpoint records this callback's state after the update above.
        if self.save_last:
            trainer.save_checkpoint(self.last_path)
        if improved:
            trainer.save_checkpoint(self.best_path)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]

    def __repr__(self) -> str:
        return (
            f"ModelCheckpoint(dirpath={str(self.dirpath)!r}, save_best={self.save_best}, "
            f"save_last={self.save_last}, monitor={self.monitor!r}, mode={self.mode!r})"
        )

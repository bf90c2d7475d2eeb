"""What reglab reads from a dataset, for ``reglab datasets --inspect``: task, shapes, classes and
their counts per split, split sizes, and the notes on anything detected, encoded or dropped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["Inspection", "inspect_data"]


@dataclass(frozen=True)
class Inspection:
    """The result of :func:`inspect_data`.

    Attributes:
        name: the dataset as ``load`` resolved it (an absolute path for files).
        task: ``"classification"`` or ``"regression"``.
        input_shape: shape of one input.
        sizes: samples per split, ``{"train": .., "val": .., "test": ..}``.
        classes: ``(class name, train, val, test counts)`` per class (empty for regression).
        target: ``(min, mean, max)`` of the training targets for regression (None otherwise).
        notes: how the data was read and split (``DatasetInfo.notes``).
    """

    name: str
    task: str
    input_shape: tuple[int, ...]
    sizes: dict[str, int]
    classes: tuple[tuple[str, int, int, int], ...]
    target: tuple[float, float, float] | None
    notes: tuple[str, ...]


def inspect_data(name: str, **options: Any) -> Inspection:
    """Load ``name`` as a study would (``reglab.data.load`` with its defaults: seed 0,
    ``val_fraction=0.2``) and summarise what was read.

    Args:
        name: anything ``reglab.data.load`` accepts.
        **options: ``load``'s arguments and the data's options (``target``, ``image_size`` ...).
    """
    from reglab.data.load import load

    splits = load(name, **options)
    info = splits.info
    sizes = {"train": info.n_train, "val": info.n_val, "test": info.n_test}
    classes: tuple[tuple[str, int, int, int], ...] = ()
    target = None
    if info.task == "classification":
        k = info.num_classes
        counts = [torch.bincount(y, minlength=k).tolist() for y in (splits.y_train, splits.y_val, splits.y_test)]
        names = info.class_names or tuple(str(i) for i in range(k))
        classes = tuple((names[i], counts[0][i], counts[1][i], counts[2][i]) for i in range(k))
    else:
        y = splits.y_train.double()
        target = (float(y.min()), float(y.mean()), float(y.max()))
    return Inspection(info.name, info.task, info.input_shape, sizes, classes, target, info.notes)

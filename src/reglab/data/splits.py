"""``Splits`` (train / validation / test tensors) and ``DatasetInfo`` (what was loaded, and how)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from reglab.data.loader import TensorLoader

__all__ = ["DatasetInfo", "Splits"]


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata of a loaded dataset and the regime it was loaded in.

    Attributes:
        name: registry name (``"mnist1d"``).
        task: ``"classification"`` or ``"regression"``.
        input_shape: shape of one input: (C, H, W) images, (40,) MNIST-1D, (d,) tabular.
        num_classes: number of classes (1 output for regression).
        n_train, n_val, n_test: samples in each split.
        label_noise: fraction of training labels flipped (requested).
        n_flipped: training labels actually flipped, ``round(label_noise * n_train)``.
        seed: the seed of the splits, subsample and noise.
        train_size: the requested training size (None: everything left after validation).
        per_class: ``train_size`` counted per class.
        val_fraction: fraction of the training pool held out for validation.
        normalization: ``"channel"``, ``"feature"``, ``"global"`` or ``"none"``.
        mean, std: the training-set statistics applied to every split (flattened).
        class_names: a name per class (empty for regression).
        options: dataset-specific options as given (``noise``, ``n_samples`` ...).
        description: one line on the source.
        notes: sentences on how the data was read and split (task detected, labels remapped,
            columns encoded, rows dropped, splits carved out), in order.
    """

    name: str
    task: str
    input_shape: tuple[int, ...]
    num_classes: int
    n_train: int
    n_val: int
    n_test: int
    label_noise: float = 0.0
    n_flipped: int = 0
    seed: int = 0
    train_size: int | None = None
    per_class: bool = False
    val_fraction: float = 0.2
    normalization: str = "none"
    mean: tuple[float, ...] = ()
    std: tuple[float, ...] = ()
    class_names: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible values (tuples become lists)."""
        d = asdict(self)
        for key in ("input_shape", "mean", "std", "class_names", "notes"):
            d[key] = list(d[key])
        return d


@dataclass
class Splits:
    """Train / validation / test tensors of one dataset in one regime.

    Inputs are float32 with shape ``(N, *info.input_shape)``; labels int64 (classification) or
    float32 (regression). ``flipped`` marks the training samples whose label was flipped by
    ``label_noise``; ``y_train_clean`` keeps their original labels (both default to "none
    flipped" when a ``Splits`` is built by hand from tensors).
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    info: DatasetInfo
    flipped: torch.Tensor | None = None
    y_train_clean: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.flipped is None:
            self.flipped = torch.zeros(len(self.y_train), dtype=torch.bool, device=self.y_train.device)
        if self.y_train_clean is None:
            self.y_train_clean = self.y_train

    def loaders(
        self, batch_size: int, *, seed: int = 0, shuffle: bool = True, drop_last: bool = False
    ) -> tuple[TensorLoader, TensorLoader, TensorLoader]:
        """``(train, val, test)`` loaders; only train shuffles, with ``torch.Generator().manual_seed(seed)``.

        Args:
            batch_size: samples per batch for all three.
            seed: seed of the training order. Defaults to 0.
            shuffle: shuffle the training set every epoch. Defaults to True.
            drop_last: drop the last incomplete training batch. Defaults to False.
        """
        gen = torch.Generator().manual_seed(seed)
        train = TensorLoader(
            self.x_train, self.y_train, batch_size, shuffle=shuffle, generator=gen, drop_last=drop_last
        )
        val = TensorLoader(self.x_val, self.y_val, batch_size)
        test = TensorLoader(self.x_test, self.y_test, batch_size)
        return train, val, test

    def to(self, device: str | torch.device) -> Splits:
        """A copy with every tensor on ``device`` (the info is shared)."""
        moved = {
            name: getattr(self, name).to(device)
            for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "flipped", "y_train_clean")
        }
        return Splits(info=self.info, **moved)

    def __repr__(self) -> str:
        i = self.info
        return (
            f"Splits(name={i.name!r}, input_shape={i.input_shape}, num_classes={i.num_classes}, "
            f"n_train={i.n_train}, n_val={i.n_val}, n_test={i.n_test}, n_flipped={i.n_flipped})"
        )

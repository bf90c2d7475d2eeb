"""``TensorLoader``: batches of in-memory tensors, without ``DataLoader``'s per-sample overhead."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch

from reglab._validate import check_int
from reglab.errors import invalid_argument

__all__ = ["TensorLoader"]


class TensorLoader:
    """A fast iterable of ``(x, y)`` batches over tensors that fit in memory.

    Each pass draws one ``torch.randperm`` from ``generator`` (when ``shuffle``) and indexes the
    tensors with slices of it, so an epoch costs one permutation plus one gather per batch, far
    less than ``torch.utils.data.DataLoader`` collating single samples. The last batch may be
    smaller unless ``drop_last``.

    ``state_dict()``/``load_state_dict()`` save and restore the generator, so a training resumed
    from a checkpoint taken between epochs sees the same data order as an uninterrupted one.

    Args:
        x: inputs, first dimension the samples.
        y: targets with the same first dimension.
        batch_size: samples per batch, >= 1.
        shuffle: a new random order every pass. Defaults to False.
        generator: source of the order; a generator seeded with 0 when None. Defaults to None.
        drop_last: skip a final incomplete batch. Defaults to False.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
    ) -> None:
        check_int("batch_size", batch_size, low=1)
        if len(x) != len(y):
            raise ValueError(
                invalid_argument(
                    "y", f"as many samples as x ({len(x)})", len(y), shown=f"len(y)={len(y)}"
                )
            )
        self.x = x
        self.y = y
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.drop_last = drop_last

    @property
    def num_samples(self) -> int:
        return len(self.x)

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.x) // self.batch_size
        return math.ceil(len(self.x) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.x)
        stop = len(self) * self.batch_size
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
            if self.x.device != order.device:
                order = order.to(self.x.device)
            for start in range(0, min(stop, n), self.batch_size):
                idx = order[start : start + self.batch_size]
                yield self.x[idx], self.y[idx]
        else:
            for start in range(0, min(stop, n), self.batch_size):
                yield self.x[start : start + self.batch_size], self.y[start : start + self.batch_size]

    def state_dict(self) -> dict[str, Any]:
        """The generator's state (a uint8 tensor), enough to continue the same data order."""
        return {"generator_state": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict` (a list of ints is accepted too)."""
        value = state["generator_state"]
        if not isinstance(value, torch.Tensor):
            value = torch.tensor(list(value), dtype=torch.uint8)
        self.generator.set_state(value.to(torch.uint8).cpu())

    def __repr__(self) -> str:
        return (
            f"TensorLoader(num_samples={len(self.x)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )

"""``Pipeline``: batch transforms applied in order, itself a batch transform.

``Pipeline([RandomShift(4), MixupCutmix(...)])(x, y, generator)`` runs the shift, then the mixing,
each with the same generator (so one seed reproduces the whole chain). Augmentation goes first and
mixing last: mixing turns labels into soft targets, which label-preserving ops pass through.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from reglab.augment.base import BatchTransform
from reglab.errors import invalid_argument
from reglab.registry import register

__all__ = ["Pipeline", "Compose", "takes_generator"]


def takes_generator(fn: Any) -> bool:
    """Whether ``fn`` accepts a ``generator`` keyword (reglab's batch transforms do)."""
    if fn is None:
        return False
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "generator" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


@register("pipeline")
class Pipeline(BatchTransform):
    """Apply ``transforms`` in order: ``(x, y) -> t_k(...t_1(x, y)...)``.

    Each element is a callable ``t(x, y[, generator=]) -> (x, y)``; those that accept ``generator``
    get the pipeline's.

    Args:
        transforms: the transforms, in application order (an empty list is the identity).
    """

    def __init__(self, transforms: Iterable[Callable[..., tuple[Tensor, Any]]]) -> None:
        if isinstance(transforms, (str, bytes)) or not isinstance(transforms, Iterable):
            raise ValueError(invalid_argument("transforms", "a list of callables (x, y) -> (x, y)", transforms))
        items = list(transforms)
        for t in items:
            if not callable(t):
                raise ValueError(invalid_argument("transforms", "a list of callables (x, y) -> (x, y)", transforms,
                                                  shown=f"transforms item {t!r}"))
        self.transforms = items
        self._gen = [takes_generator(t) for t in items]

    def __call__(self, x: Tensor, y: Any, generator: torch.Generator | None = None) -> tuple[Tensor, Any]:
        for t, gen in zip(self.transforms, self._gen):
            x, y = t(x, y, generator=generator) if gen else t(x, y)
        return x, y

    def __len__(self) -> int:
        return len(self.transforms)

    def __repr__(self) -> str:
        return f"Pipeline([{', '.join(repr(t) for t in self.transforms)}])"


#: torchvision's name for the same thing.
Compose = Pipeline

"""The shape every batch transform shares: configurable, callable on ``(x, y)``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
from torch import Tensor

from reglab.registry import Configurable

__all__ = ["BatchTransform", "LabelPreserving"]


class BatchTransform(Configurable, ABC):
    """Base of the batch transforms: ``transform(x, y, generator=None) -> (x_out, y_out)``.

    Applied by the training loop to each training batch (never at evaluation). Each ``__init__``
    argument is stored under its own name, so ``get_config()``/``from_config()`` round-trip and the
    repr shows the configuration.
    """

    @abstractmethod
    def __call__(self, x: Tensor, y: Any, generator: torch.Generator | None = None) -> tuple[Tensor, Any]:
        """Transform one training batch."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class LabelPreserving(BatchTransform):
    """A transform of the inputs only: ``t(x, y, generator) -> (op(x), y)`` with ``y`` untouched.

    Subclasses implement ``_apply(x, generator)`` by calling their pure function.
    """

    @abstractmethod
    def _apply(self, x: Tensor, generator: torch.Generator | None) -> Tensor:
        """The augmented copy of ``x``."""

    def __call__(self, x: Tensor, y: Any, generator: torch.Generator | None = None) -> tuple[Tensor, Any]:
        return self._apply(x, generator), y

"""Argument checks shared by the losses: a cheap comparison first, the standard message on failure."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from reglab._validate import check_choice, check_probability, check_range
from reglab.errors import invalid_argument

__all__ = ["REDUCTIONS", "probability", "positive", "reduction", "floating", "reduce", "class_dim"]

REDUCTIONS = ("mean", "sum", "none")


def probability(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1]; else ``ValueError`` with the standard message."""
    if type(value) is float and 0.0 <= value <= 1.0:
        return value
    return check_probability(name, value)


def positive(name: str, value: Any) -> float:
    """``value`` as a float in (0, inf); else ``ValueError`` with the standard message."""
    if type(value) is float and 0.0 < value < float("inf"):
        return value
    return check_range(name, value, 0.0, None, low_inclusive=False)


def reduction(value: Any) -> str:
    """One of ``'mean'``, ``'sum'``, ``'none'``; else ``ValueError`` listing them."""
    if value in REDUCTIONS:
        return value
    return check_choice("reduction", value, REDUCTIONS)


def floating(name: str, tensor: Any) -> None:
    """A floating-point tensor (logits); else ``ValueError``."""
    if not isinstance(tensor, Tensor):
        raise ValueError(invalid_argument(name, "a torch.Tensor", tensor, shown=f"{name} of type {type(tensor).__name__}"))
    if not tensor.is_floating_point():
        raise ValueError(invalid_argument(name, "a floating-point tensor", tensor.dtype, shown=f"{name}.dtype={tensor.dtype}"))


def reduce(loss: Tensor, how: str) -> Tensor:
    """Apply a validated reduction to per-sample losses."""
    if how == "mean":
        return loss.mean()
    if how == "sum":
        return loss.sum()
    return loss


def class_dim(logits: Tensor) -> int:
    """The class dimension, as in ``F.cross_entropy``: 0 for unbatched ``(C,)`` logits, else 1."""
    return 0 if logits.dim() == 1 else 1


"""Cheap argument checks for the hot path of every regularizer.

Each check first does a plain comparison (a few hundred nanoseconds) and only falls back to
:mod:`reglab._validate` — which builds the standard message and raises — when the value is bad.
"""

from __future__ import annotations

from typing import Any

import torch

from reglab._validate import check_choice, check_non_negative, check_probability
from reglab.errors import invalid_argument

__all__ = ["probability", "non_negative", "choice", "floating"]

_NUMBER = (int, float)
_INF = float("inf")


def probability(name: str, value: Any, *, allow_one: bool = True) -> float:
    """``value`` as a float in [0, 1] (or [0, 1) with ``allow_one=False``); else ``ValueError``."""
    if type(value) in _NUMBER and 0.0 <= value and (value <= 1.0 if allow_one else value < 1.0):
        return float(value)
    return check_probability(name, value, allow_one=allow_one)


def non_negative(name: str, value: Any) -> float:
    """``value`` as a float in [0, inf); else ``ValueError``."""
    if type(value) in _NUMBER and 0.0 <= value < _INF:
        return float(value)
    return check_non_negative(name, value)


def floating(name: str, tensor: Any) -> None:
    """A floating-point (or complex) ``torch.Tensor``; else ``ValueError`` naming its type or dtype.

    Integer tensors have no meaningful dropout/noise (the scaled or noisy values cannot be stored).
    """
    if type(tensor) is torch.Tensor or isinstance(tensor, torch.Tensor):
        if tensor.is_floating_point() or tensor.is_complex():
            return
        raise ValueError(invalid_argument(name, "a floating-point tensor", tensor.dtype, shown=f"{name}.dtype={tensor.dtype}"))
    raise ValueError(invalid_argument(name, "a torch.Tensor", tensor, shown=f"{name} of type {type(tensor).__name__}"))


def choice(name: str, value: Any, choices: tuple[Any, ...]) -> Any:
    """``value`` if it is one of ``choices``; else ``ValueError`` listing them."""
    if value in choices:
        return value
    return check_choice(name, value, choices)

"""Argument checks shared by every layer; torch-only, cheap enough for hot paths.

Each check returns the (normalised) value or raises ``ValueError``/``TypeError`` with the message
of :func:`reglab.errors.invalid_argument`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

from reglab.errors import invalid_argument

__all__ = [
    "check_probability",
    "check_range",
    "check_non_negative",
    "check_positive",
    "check_int",
    "check_choice",
    "check_ndim",
    "format_choices",
    "is_input_mismatch",
]

# Words of PyTorch's errors for a batch a model or loss cannot take (wrong feature size, channels,
# rank, dtype, labels out of range). Any other error inside a model stays itself: it is a bug.
_MISMATCH = (
    "shapes cannot be multiplied", "must match the size", "size mismatch", "out of bounds", "expected input",
    "to have", "but got", "expected scalar type", "same dtype", "target", "expected 2d", "expected 3d",
    "expected 4d", "dimension out of range",
)


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def _fmt(value: float) -> str:
    return repr(value) if not isinstance(value, float) or not value.is_integer() else str(int(value))


def check_range(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Check that ``value`` is a real number (not bool, not NaN) inside the given interval.

    An open end (``low``/``high`` of ``None``) excludes the infinity itself: ``check_range("lr", inf,
    0.0, None)`` is refused like any other value outside ``[0, inf)``, so every positive and
    non-negative check asks for a finite number.
    """
    lo = "(-inf" if low is None else ("[" if low_inclusive else "(") + _fmt(low)
    hi = "inf)" if high is None else _fmt(high) + ("]" if high_inclusive else ")")
    expected = f"a number in {lo}, {hi}"
    if not _is_number(value) or math.isnan(value) or math.isinf(value):
        raise ValueError(invalid_argument(name, expected, value))
    if low is not None and (value < low or (not low_inclusive and value == low)):
        raise ValueError(invalid_argument(name, expected, value))
    if high is not None and (value > high or (not high_inclusive and value == high)):
        raise ValueError(invalid_argument(name, expected, value))
    return float(value)


def check_probability(name: str, value: Any, *, allow_one: bool = True) -> float:
    """A probability in [0, 1] (or [0, 1) with ``allow_one=False``)."""
    return check_range(name, value, 0.0, 1.0, high_inclusive=allow_one)


def check_non_negative(name: str, value: Any) -> float:
    return check_range(name, value, 0.0, None)


def check_positive(name: str, value: Any) -> float:
    return check_range(name, value, 0.0, None, low_inclusive=False)


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """An integer (not bool) inside [low, high]."""
    if low is not None and high is not None:
        expected = f"an integer in [{low}, {high}]"
    elif low is not None:
        expected = f"an integer >= {low}"
    elif high is not None:
        expected = f"an integer <= {high}"
    else:
        expected = "an integer"
    if not isinstance(value, Integral) or isinstance(value, bool):
        raise ValueError(invalid_argument(name, expected, value))
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(invalid_argument(name, expected, value))
    return int(value)


def format_choices(choices: Iterable[Any]) -> str:
    """``'a', 'b', 'c'`` in the given order."""
    return ", ".join(repr(c) for c in choices)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """One of a fixed set of values; the message lists them all."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(invalid_argument(name, f"one of {format_choices(choices)}", value))
    return value


def check_ndim(name: str, tensor: Any, allowed: Iterable[int]) -> None:
    """A tensor whose number of dimensions is one of ``allowed``."""
    allowed = tuple(allowed)
    ndim = tensor.dim()
    if ndim not in allowed:
        if len(allowed) == 1:
            dims = str(allowed[0])
        else:
            dims = ", ".join(str(d) for d in allowed[:-1]) + f" or {allowed[-1]}"
        raise ValueError(
            invalid_argument(
                name,
                f"a tensor with {dims} dimensions",
                ndim,
                shown=f"{name}.ndim={ndim} (shape {tuple(tensor.shape)})",
            )
        )


def is_input_mismatch(exc: BaseException) -> bool:
    """Whether ``exc`` (from a model's forward or a loss) says the *batch* does not fit: a shape,
    rank, dtype or label-range mismatch, as PyTorch words them. Used to turn those into one message
    naming the caller's argument while letting every other error (a bug) through unchanged."""
    text = str(exc).lower()
    return isinstance(exc, (RuntimeError, IndexError, TypeError)) and any(w in text for w in _MISMATCH)

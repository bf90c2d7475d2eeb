"""Argument checks and small building blocks shared by the reference models."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

from torch import nn

from reglab._validate import check_choice, check_int, check_probability
from reglab.errors import invalid_argument
from reglab.nn import Dropout

__all__ = ["check_input_shape", "check_num_classes", "dropout_layers", "ACTIVATIONS", "make_activation", "numel"]

ACTIVATIONS = ("relu", "gelu", "tanh", "silu")


def check_input_shape(model: str, input_shape: Any, ndims: Sequence[int], expected: str) -> tuple[int, ...]:
    """A tuple of positive ints with one of the allowed lengths, else the standard ValueError."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    ok = (
        shape is not None
        and len(shape) in ndims
        and all(isinstance(d, Integral) and not isinstance(d, bool) and d >= 1 for d in shape)
    )
    if not ok:
        raise ValueError(invalid_argument("input_shape", f"{expected} for model {model!r}", input_shape))
    return tuple(int(d) for d in shape)  # type: ignore[union-attr]


def check_num_classes(num_classes: Any) -> int:
    return check_int("num_classes", num_classes, low=1)


def dropout_layers(name: str, p: Any) -> list[nn.Module]:
    """``[reglab.nn.Dropout(p)]``, or no module at all when ``p == 0`` (the exact baseline).

    ``p`` is checked in [0, 1) under the argument name ``name``.
    """
    p = check_probability(name, p, allow_one=False)
    return [Dropout(p)] if p > 0 else []


def make_activation(name: str) -> nn.Module:
    check_choice("activation", name, ACTIVATIONS)
    return {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "silu": nn.SiLU}[name]()


def numel(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n

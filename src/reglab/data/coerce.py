"""What a user's loader (or :func:`reglab.data.register`) may hand over, turned into split arrays.

Accepted, for a loader ``package.module:loader`` and for ``register(name, data)`` alike:

* ``(x, y)``: arrays or tensors of the whole data (validation and test are carved out);
* a tuple of two or three splits, ``(train, test)`` or ``(train, val, test)``, each ``(x, y)``
  or a torch ``Dataset``;
* a dict with ``x_train``, ``y_train`` and optionally ``x_val``/``y_val``, ``x_test``/``y_test``,
  or with ``train`` and optionally ``val``/``test``, each ``(x, y)`` or a ``Dataset``;
* a map-style torch ``Dataset`` (``len`` and ``ds[i] -> (x, y)``) of the whole data;
* reglab's :class:`~reglab.data.Splits` (its class names and task are kept).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from reglab.errors import invalid_argument

__all__ = ["Handover", "EXPECTED", "coerce", "describe", "a_type"]

EXPECTED = (
    "(x, y), a tuple of (x, y) splits (train, test) or (train, val, test), a dict of splits "
    "(x_train, y_train, x_val, ...), a torch Dataset of (x, y) items or reglab Splits"
)
_FLAT_KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
_SPLIT_KEYS = ("train", "val", "test")


@dataclass
class Handover:
    """The split arrays found in a handed-over object, and what it says about itself."""

    parts: dict[str, Any]
    task: str | None = None
    class_names: tuple[str, ...] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


class _Unusable(Exception):
    pass


def a_type(value: Any) -> str:
    """``"a str"``, ``"an int"``: the type's name with its article."""
    kind = type(value).__name__
    return f"{'an' if kind[:1].lower() in 'aeiou' or kind.startswith('nd') else 'a'} {kind}"


def describe(value: Any) -> str:
    """A short description of a value: ``a str ('abc')``, ``a tuple of 3 items``."""
    if isinstance(value, (tuple, list)):
        return f"{a_type(value)} of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, dict):
        keys = ", ".join(repr(k) for k in list(value)[:6])
        return f"a dict with keys {keys}" if value else "an empty dict"
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return f"{a_type(value)} of shape {tuple(value.shape)}"
    text = repr(value)
    return f"{a_type(value)} ({text[:60]}{'...' if len(text) > 60 else ''})"


def _is_array(value: Any) -> bool:
    return isinstance(value, (np.ndarray, torch.Tensor)) or (
        isinstance(value, list) and len(value) > 0 and not isinstance(value[0], (tuple, torch.utils.data.Dataset))
    )


def _is_dataset(value: Any) -> bool:
    return isinstance(value, torch.utils.data.Dataset) and hasattr(value, "__len__")


def _from_dataset(ds: Any) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for i in range(len(ds)):
        item = ds[i]
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise _Unusable(f"a Dataset whose item {i} is {describe(item)}, not an (x, y) pair")
        x, y = item
        xs.append(x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x))
        ys.append(y.item() if isinstance(y, torch.Tensor) and y.numel() == 1 else y)
    if not xs:
        raise _Unusable("an empty Dataset")
    return np.stack(xs), np.asarray(ys)


def _pair(value: Any) -> tuple[Any, Any]:
    if _is_dataset(value):
        return _from_dataset(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_array(v) for v in value):
        return value[0], value[1]
    raise _Unusable(f"a split that is {describe(value)}, not (x, y) or a Dataset")


def _flat(splits: dict[str, Any]) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    for split, value in splits.items():
        parts[f"x_{split}"], parts[f"y_{split}"] = _pair(value)
    return parts


def _coerce(value: Any) -> Handover:
    from reglab.data.splits import Splits

    if isinstance(value, Splits):
        parts = {k: getattr(value, k) for k in _FLAT_KEYS}
        info = value.info
        names = tuple(info.class_names) if info.task == "classification" and info.class_names else None
        return Handover(parts, task=info.task, class_names=names,
                        notes=(f"read from reglab Splits of {info.name!r}, its validation split kept.",))
    if isinstance(value, dict):
        keys = set(value)
        if keys and keys <= set(_FLAT_KEYS) and {"x_train", "y_train"} <= keys:
            return Handover(dict(value))
        if keys and keys <= set(_SPLIT_KEYS) and "train" in keys:
            return Handover(_flat({k: value[k] for k in _SPLIT_KEYS if k in value}))
        raise _Unusable(f"{describe(value)} (expected keys x_train, y_train[, x_val, y_val, x_test, "
                        "y_test] or train[, val, test])")
    if _is_dataset(value):
        return Handover(_flat({"train": value}))
    if isinstance(value, (tuple, list)):
        if len(value) == 2 and all(_is_array(v) for v in value):
            return Handover({"x_train": value[0], "y_train": value[1]})
        if len(value) in (2, 3):
            names = ("train", "test") if len(value) == 2 else _SPLIT_KEYS
            return Handover(_flat(dict(zip(names, value))))
    raise _Unusable(describe(value))


def coerce(value: Any, *, argument: str, source: str) -> Handover:
    """The splits inside ``value``; anything else raises ``ValueError`` saying what it was.

    Args:
        value: what the loader returned / what was passed to ``register``.
        argument: the argument named in the message (``"data"``).
        source: how the value came (``"data='pkg.mod:load' returned"``), for the message.
    """
    try:
        return _coerce(value)
    except _Unusable as exc:
        raise ValueError(invalid_argument(argument, EXPECTED, None, shown=f"{source} {exc}")) from None

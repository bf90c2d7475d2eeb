"""Name-to-class registry and the config round-trip every reglab module supports.

``reglab.get("drop_path", p=0.1)`` builds any registered regularizer (module, loss or batch
transform) by name, so configs and the CLI can name a technique as a string.

A :class:`Configurable` stores each ``__init__`` argument as an attribute of the same name;
``get_config()`` returns those plain values and ``from_config(cfg)`` rebuilds an equal object:
``type(m).from_config(m.get_config()).get_config() == m.get_config()``.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from reglab.errors import invalid_argument

__all__ = ["Configurable", "register", "get", "available", "lookup"]

T = TypeVar("T")

_REGISTRY: dict[str, type] = {}
# Modules whose import registers techniques; imported on first lookup so `import reglab` stays light.
_PROVIDERS = ("reglab.nn", "reglab.losses", "reglab.augment")
_loaded = False


class Configurable:
    """Mixin: ``get_config()`` from the ``__init__`` signature, ``from_config()`` back."""

    def get_config(self) -> dict[str, Any]:
        params = inspect.signature(type(self).__init__).parameters
        config = {}
        for pname, param in params.items():
            if pname == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            config[pname] = getattr(self, pname)
        return config

    @classmethod
    def from_config(cls: type[T], config: dict[str, Any]) -> T:
        return cls(**config)


def register(name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: make ``cls`` buildable as ``reglab.get(name, **kwargs)``."""

    def deco(cls: type[T]) -> type[T]:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise RuntimeError(f"reglab registry: name {name!r} is already taken by {_REGISTRY[name]!r}")
        _REGISTRY[name] = cls
        cls.registry_name = name  # type: ignore[attr-defined]
        return cls

    return deco


def _ensure_loaded() -> None:
    global _loaded
    if not _loaded:
        for mod in _PROVIDERS:
            importlib.import_module(mod)
        _loaded = True


def available() -> list[str]:
    """Sorted names accepted by :func:`get`."""
    _ensure_loaded()
    return sorted(_REGISTRY)


def lookup(name: str) -> type:
    """The class registered under ``name``; unknown names list the known ones."""
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(repr(n) for n in sorted(_REGISTRY))
        raise ValueError(invalid_argument("name", f"one of {known}", name)) from None


def get(name: str, **kwargs: Any) -> Any:
    """Build the technique registered under ``name`` with ``kwargs``.

    >>> import reglab
    >>> reglab.get("dropout", p=0.2)
    Dropout(p=0.2, mode='inverted')
    """
    return lookup(name)(**kwargs)

"""reglab: regularization for deep neural networks in PyTorch.

The core (``reglab.functional``, ``reglab.nn``, ``reglab.losses``, ``reglab.augment``,
``reglab.penalties``) depends on torch and numpy only. ``import reglab`` imports nothing heavy;
submodules load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

from reglab.errors import ReglabError
from reglab.registry import available, get

__version__ = "0.1.0"
__all__ = ["ReglabError", "available", "get", "__version__"]

_SUBMODULES = {
    "functional", "nn", "losses", "augment", "penalties", "retrofit", "uncertainty",
    "training", "data", "models", "experiments", "analysis", "report", "lab",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"reglab.{name}")
    raise AttributeError(f"module 'reglab' has no attribute {name!r}")

"""In-memory data registered under a name, so a study started from a notebook can use it.

``reglab.data.register("mine", (x, y))`` makes ``load("mine")`` (and ``DataSpec(name="mine")``,
``StudyConfig(data={"name": "mine"})``) read those arrays. The registry is process-local; the
process runner sends it to the worker processes it spawns (``runners/local.py``) and the Ray
runner to its tasks (``runners/ray_runner.py``), so runs in workers see the same data. A run's key holds the name, not the data: register different data
under a new name, or run with ``resume=False``, after changing it.
"""

from __future__ import annotations

import re
from typing import Any

from reglab.data.arrays import UserData, prepare
from reglab.data.coerce import coerce
from reglab.errors import invalid_argument

__all__ = ["register", "unregister", "registered", "snapshot", "restore"]

_REGISTRY: dict[str, UserData] = {}
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def register(
    name: str,
    data: Any,
    *,
    task: str | None = None,
    class_names: tuple[str, ...] | list[str] | None = None,
    test_fraction: float = 0.2,
) -> None:
    """Register in-memory ``data`` under ``name`` for ``reglab.data.load`` and studies.

    Args:
        name: letters, digits, ``_`` and ``-``, starting with a letter; not a built-in name.
        data: ``(x, y)``, ``(train, val, test)`` splits, a dict of splits, a torch ``Dataset``
            or ``Splits`` (see :mod:`reglab.data.coerce`).
        task: ``"classification"``, ``"regression"`` or None (detected). Defaults to None.
        class_names: a name per class (labels then must be ``0..K-1``). Defaults to None.
        test_fraction: held out as the fixed test set when ``data`` has no test split.
            Defaults to 0.2.

    Raises:
        ValueError: a name that is not allowed, or data :func:`reglab.data.arrays.prepare` refuses.
    """
    from reglab.data.registry import DATASETS

    if not isinstance(name, str) or not _NAME_RE.match(name) or name in DATASETS:
        raise ValueError(invalid_argument(
            "name", "letters, digits, '_' or '-', starting with a letter, and not a built-in dataset's name",
            name))
    handed = coerce(data, argument="data", source="register() received")
    _REGISTRY[name] = prepare(
        handed.parts, task=task or handed.task, test_fraction=test_fraction,
        class_names=class_names if class_names is not None else handed.class_names,
        notes=(f"registered in memory as {name!r}.",) + handed.notes,
    )


def unregister(name: str) -> None:
    """Forget ``name`` (nothing happens if it is not registered)."""
    _REGISTRY.pop(name, None)


def registered() -> list[str]:
    """The registered names, in registration order."""
    return list(_REGISTRY)


def get(name: str) -> UserData | None:
    return _REGISTRY.get(name)


def snapshot() -> dict[str, UserData]:
    """The registry's content, for a worker process (``restore``)."""
    return dict(_REGISTRY)


def restore(items: dict[str, UserData]) -> None:
    """Add registered data received from the parent process."""
    _REGISTRY.update(items)

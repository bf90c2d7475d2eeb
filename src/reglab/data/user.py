"""Bring your own data: what ``reglab.data.load`` accepts besides the built-in names.

``name`` may be, checked in this order:

==========================  ====================================================  =======================
form                        what is read                                          options
==========================  ====================================================  =======================
a built-in name             the registry (``reglab datasets``)                    per dataset
a registered name           arrays given to :func:`reglab.data.register`           none
``path/to/data.npz``        ``x_train``, ``y_train``; optional ``x_val``/``y_val``,  ``task``,
                            ``x_test``/``y_test``                                  ``test_fraction``
``path/to/data.csv``        a table with a ``target`` column (pandas;              ``target``, ``task``,
``.parquet``                :mod:`reglab.data.tabular`)                            ``test_fraction``
``path/to/folder``          one sub-folder per class (Pillow;                      ``image_size``,
                            :mod:`reglab.data.image_folder`)                       ``test_fraction``
``package.module:loader``   what the loader returns (:mod:`reglab.data.imported`)  ``task``,
                                                                                   ``test_fraction``
==========================  ====================================================  =======================

Then every form goes through the same checks and rules (:mod:`reglab.data.arrays`) and the same
regimes as the built-in sets. A relative path is read against the current directory;
:func:`resolve_name` makes it absolute, which the study config does when it is built, so worker
processes started elsewhere find the file.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from reglab._validate import format_choices
from reglab.data import memory
from reglab.data.arrays import UserData, prepare
from reglab.data.image_folder import read_image_folder
from reglab.data.imported import is_import_string, read_imported
from reglab.data.tabular import read_table
from reglab.errors import invalid_argument

__all__ = ["FILE_SUFFIXES", "kind_of", "resolve_name", "read_user_data", "read_npz"]

FILE_SUFFIXES = {".npz": "npz", ".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_KIND_TEXT = {"npz": ".npz", "csv": "CSV", "parquet": "Parquet", "image_folder": "image folder",
              "import": "module:loader", "registered": "registered"}
_NPZ_KEYS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


def _expected_name() -> str:
    from reglab.data.registry import DATASETS

    return (f"one of {format_choices(DATASETS)}, a name given to reglab.data.register, a path to a .npz, "
            ".csv or .parquet file or to an image folder, or an import string 'package.module:loader'")


def _looks_like_path(text: str) -> bool:
    return (os.sep in text or "/" in text or text.startswith((".", "~"))
            or Path(text).suffix.lower() in FILE_SUFFIXES)


def kind_of(name: str) -> str:
    """``"builtin"``, ``"registered"``, ``"npz"``, ``"csv"``, ``"parquet"``, ``"image_folder"``,
    ``"import"``, or ``"unknown"`` (a path that does not exist, a file of another kind, or none)."""
    from reglab.data.registry import DATASETS

    if name in DATASETS:
        return "builtin"
    if memory.get(name) is not None:
        return "registered"
    path = Path(name).expanduser()
    if path.is_dir():
        return "image_folder"
    if path.is_file():
        return FILE_SUFFIXES.get(path.suffix.lower(), "unknown")
    if is_import_string(name) and not _looks_like_path(name):
        return "import"
    return "unknown"


def resolve_name(name: Any, *, argument: str = "name") -> str:
    """``name`` as a run spec keeps it: built-in, registered and import names unchanged, paths
    made absolute (against the current directory). Anything else raises ``ValueError``."""
    if isinstance(name, os.PathLike):
        name = os.fspath(name)
    if not isinstance(name, str) or not name.strip():
        raise ValueError(invalid_argument(argument, _expected_name(), name))
    kind = kind_of(name)
    if kind in ("builtin", "registered", "import"):
        return name
    path = Path(name).expanduser()
    if kind == "unknown":
        if path.is_file():
            raise ValueError(invalid_argument(
                argument, "a .npz, .csv or .parquet file or an image folder", name,
                shown=f"{argument}={name!r} (a file with suffix {path.suffix or 'none'!r})"))
        if _looks_like_path(name):
            raise ValueError(invalid_argument(
                argument, "an existing .npz, .csv or .parquet file or image folder", name,
                shown=f"{argument}={name!r} (no such file or folder: {os.path.abspath(path)})"))
        raise ValueError(invalid_argument(argument, _expected_name(), name))
    return os.path.abspath(path)


def read_npz(path: Path, *, task: str | None = None, test_fraction: float = 0.2) -> UserData:
    """A ``.npz`` file with ``x_train``, ``y_train`` and optional ``x_val``/``y_val``,
    ``x_test``/``y_test`` (other keys are refused, so a misspelt split is not silently ignored)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as exc:
        raise ValueError(invalid_argument("data", "a .npz file written by numpy.savez", None,
                                          shown=f"{path} ({str(exc).strip().splitlines()[0]})")) from None
    unknown = [k for k in arrays if k not in _NPZ_KEYS]
    if unknown or "x_train" not in arrays:
        raise ValueError(invalid_argument(
            "data", f"a .npz file with arrays among {format_choices(_NPZ_KEYS)} (x_train and y_train required)",
            None, shown=f"{path} holds {format_choices(arrays) or 'no arrays'}"))
    return prepare(arrays, task=task, test_fraction=test_fraction,
                   notes=(f"read {', '.join(arrays)} from {path.name}.",))


_READERS: dict[str, Callable[..., UserData]] = {"npz": read_npz, "csv": read_table, "parquet": read_table, "image_folder": read_image_folder}


def _check_options(kind: str, reader: Any, options: dict[str, Any]) -> None:
    params = inspect.signature(reader).parameters
    known = [p.name for p in params.values() if p.kind is p.KEYWORD_ONLY and p.name != "argument"]
    for key, value in options.items():
        if key not in known:
            expected = (f"an option of {_KIND_TEXT[kind]} data: {format_choices(known)}" if known
                        else f"no options for {_KIND_TEXT[kind]} data")
            raise ValueError(invalid_argument(key, expected, value))


def read_user_data(name: Any, **options: Any) -> tuple[UserData, str, str]:
    """``(data, name, description)`` of anything but a built-in name (see the module docstring).

    Raises:
        ValueError: a name that is none of the forms, an option the form does not take, and
            whatever the form's reader refuses.
    """
    resolved = resolve_name(name)
    kind = kind_of(resolved)
    # a registered name or module:loader is kept as given; a path is read from its absolute form
    if kind == "registered":
        _check_options(kind, lambda: None, options)
        data = memory.get(resolved)
        return data, resolved, "in-memory data registered with reglab.data.register"  # type: ignore[return-value]
    if kind == "import":
        _check_options(kind, read_imported, options)
        return read_imported(resolved, **options), resolved, f"returned by the loader {resolved}"
    reader = _READERS[kind]
    _check_options(kind, reader, options)
    path = Path(resolved)
    return reader(path, **options), resolved, f"{_KIND_TEXT[kind]} data read from {path}"

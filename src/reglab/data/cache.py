"""Where reglab keeps generated datasets and downloaded files, and atomic writes into it.

The cache directory is ``$REGLAB_CACHE`` when set, else ``~/.cache/reglab``. Downloaded datasets
go to ``$REGLAB_DATA_DIR`` when set, else ``<cache>/data``; ``load(..., data_dir=...)`` overrides
both for one call.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["cache_dir", "default_data_dir", "save_npz_atomic", "load_npz"]


def cache_dir() -> Path:
    """The cache directory: ``$REGLAB_CACHE`` or ``~/.cache/reglab`` (not created here)."""
    env = os.environ.get("REGLAB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "reglab"


def default_data_dir() -> Path:
    """Where downloaded datasets live: ``$REGLAB_DATA_DIR`` or ``<cache_dir()>/data``."""
    env = os.environ.get("REGLAB_DATA_DIR")
    return Path(env).expanduser() if env else cache_dir() / "data"


def save_npz_atomic(path: Path, **arrays: np.ndarray) -> None:
    """Write ``arrays`` to ``path`` with ``np.savez`` through a temporary file and ``os.replace``.

    A reader never sees a half-written file, and two processes generating the same dataset at
    once both end with a complete file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays saved at ``path``, or ``None`` when the file is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError):
        return None

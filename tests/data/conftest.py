"""Data tests run against a private cache directory; MNIST-1D is copied from (or generated into)
the user's cache once per session so only one test pays for generation."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reglab.data.cache import cache_dir
from reglab.data.embedded import MNIST1D_CACHE, mnist1d_arrays


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session cache dir holding the real MNIST-1D arrays (generated once if nowhere cached)."""
    user_file = cache_dir() / MNIST1D_CACHE
    if not user_file.is_file():
        mnist1d_arrays()  # generate into the user's cache: later sessions start instantly
    path = tmp_path_factory.mktemp("reglab-cache")
    shutil.copy(user_file, path / MNIST1D_CACHE)
    return path


@pytest.fixture(autouse=True)
def _private_cache(session_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("REGLAB_CACHE", str(session_cache))
    monkeypatch.setenv("REGLAB_DATA_DIR", str(session_cache / "data"))
    yield session_cache

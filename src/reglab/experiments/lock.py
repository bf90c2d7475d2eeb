"""One writer per run store: a study holds an exclusive ``flock`` on ``<store>.lock`` while it runs.

Two processes on the same ``--out`` used to train every run twice (the same study) or merge two
plans into one store (two configs under one name). :func:`store_lock` takes a non-blocking
exclusive ``fcntl.flock`` on a lock file beside the store and writes the holder's PID into it; a
second process stops at once with a :class:`~reglab.errors.StoreError` naming that PID. The kernel
releases a ``flock`` when its file descriptor closes, so the lock also goes away when the holder
crashes or is killed with ``kill -9``: a stale lock file never blocks anything. Readers (``report``,
``recommend``, ``uncertainty``) take no lock: SQLite's WAL mode lets them read while a study writes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from reglab.errors import StoreError

__all__ = ["store_lock", "lock_path"]


def lock_path(store_path: str | os.PathLike[str]) -> Path:
    """``runs.sqlite`` -> ``runs.sqlite.lock`` (beside the store)."""
    path = Path(store_path)
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def store_lock(store_path: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the store's lock for the ``with`` block (yields the lock file's path).

    Raises:
        StoreError: another live process holds it (the message names its PID), or the lock file
            cannot be created.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock, as before
        yield lock_path(store_path)
        return
    path = lock_path(store_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the same words as the run store's
        raise StoreError(f"Cannot create the output directory {str(path.parent)!r}: {exc.strerror or exc}. "
                         "Expected a writable directory.") from None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"Cannot create the lock file {str(path)!r}: {exc.strerror or exc}. Expected a "
                         "writable output directory.") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise StoreError(
                f"The run store {str(store_path)!r} is in use by another reglab process (PID {holder}; "
                f"lock {str(path)!r}). Expected one study at a time per store: wait for it to finish, "
                "or choose another --out directory."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock

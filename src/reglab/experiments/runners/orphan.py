"""Workers die with their parent: a worker process must not outlive a study killed with ``kill -9``.

Two mechanisms, installed by the worker's initializer:

* Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` through ctypes: the kernel kills the worker the
  moment the thread that started it exits (for the local runner, the study's thread, which lives
  as long as the pool). The race where the parent died before the call is closed by comparing
  ``os.getppid()`` with the parent's pid right after it.
* Everywhere: a daemon watchdog thread that polls ``os.getppid()`` every ``interval`` seconds and
  exits the process (``os._exit``) once the worker has been re-parented (the parent died). It is
  also the fallback where ``prctl`` is unavailable.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

__all__ = ["die_with_parent", "PR_SET_PDEATHSIG"]

#: ``<linux/prctl.h>``.
PR_SET_PDEATHSIG = 1


def _set_pdeathsig(sig: int) -> bool:
    """``prctl(PR_SET_PDEATHSIG, sig)``; False where it is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int, interval: float) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(1)
        time.sleep(interval)


def die_with_parent(parent: int, *, interval: float = 0.5) -> bool:
    """Make this process exit when process ``parent`` dies; returns whether the kernel signal is set.

    Args:
        parent: the pid of the parent (the study process), taken *before* this process started.
        interval: seconds between two watchdog checks. Defaults to 0.5 (well inside the 5 s a
            killed study's workers are given to disappear).
    """
    kernel = _set_pdeathsig(signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl: nobody is left to signal us
        os._exit(1)
    threading.Thread(target=_watch, args=(parent, interval), name="reglab-parent-watchdog", daemon=True).start()
    return kernel

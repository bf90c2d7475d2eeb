"""A bounded manager of training jobs that run in threads and stream their events.

A job is one demo's training run. :meth:`JobManager.submit` prepares it (loads the data, builds
the model: argument errors surface here, before anything runs) and starts it in its own daemon
thread with ``torch.set_num_threads(1)``, so the event loop serving the pages never trains. The
job appends events (``start``, ``epoch``, ..., then one of ``done``/``error``/``cancelled``) to a
list that any number of readers replay from any index; the server streams them as Server-Sent
Events. A job stops early when :meth:`Job.cancel` is called (the page went away, or
``DELETE /api/jobs/{id}``) or when no reader subscribed within ``unwatched_timeout`` seconds:
its training callback polls :attr:`Job.should_cancel` after every batch.

At most ``max_jobs`` jobs run at once; one more raises :class:`JobLimitError` (HTTP 429).
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch

from reglab.errors import ReglabError
from reglab.lab.schemas import LabLimits

__all__ = ["Job", "JobManager", "JobLimitError", "JobNotFoundError", "Runner", "Preparer"]

TERMINAL = ("done", "error", "cancelled")

Runner = Callable[["Job"], dict[str, Any]]  # trains, emits events, returns the `done` payload
Preparer = Callable[[Any], Runner]  # validates/builds from params, returns the runner


class JobLimitError(ReglabError):
    """Too many training jobs are running at once."""


class JobNotFoundError(ReglabError, KeyError):
    """No job has this id (never created, or forgotten after it finished)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class Job:
    """One training run: its events, its state and its cancel flag (thread-safe)."""

    def __init__(self, demo: str, params: dict[str, Any], *, unwatched_timeout: float) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.demo = demo
        self.params = params
        self.state = "running"
        self.error: str | None = None
        self.created = time.monotonic()
        self.finished: float | None = None
        self._events: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._subscribed = threading.Event()
        self._unwatched_timeout = unwatched_timeout
        self.thread: threading.Thread | None = None

    # -- producer side (the training thread) ------------------------------------------------
    def emit(self, event: str, data: dict[str, Any]) -> None:
        with self._lock:
            self._events.append((event, data))

    @property
    def should_cancel(self) -> bool:
        """True once cancelled, or when nobody subscribed within the unwatched timeout."""
        if self._cancel.is_set():
            return True
        if not self._subscribed.is_set() and time.monotonic() - self.created > self._unwatched_timeout:
            self._cancel.set()
            return True
        return False

    # -- consumer side -------------------------------------------------------------------------
    def subscribe(self) -> None:
        self._subscribed.set()

    def cancel(self) -> None:
        self._cancel.set()

    def events_since(self, index: int) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return self._events[index:]

    @property
    def n_events(self) -> int:
        with self._lock:
            return len(self._events)

    @property
    def finished_flag(self) -> bool:
        return self.state in TERMINAL

    def status(self) -> dict[str, Any]:
        return {"id": self.id, "demo": self.demo, "state": self.state, "events": self.n_events, "error": self.error}

    # -- the thread body -----------------------------------------------------------------------
    def _run(self, runner: Runner, on_exit: Callable[[Job], None]) -> None:
        torch.set_num_threads(1)
        try:
            result = runner(self)
            if self._cancel.is_set():
                self.state = "cancelled"
                self.emit("cancelled", {"message": "The job was cancelled.", **result})
            else:
                self.state = "done"
                self.emit("done", result)
        except Exception as exc:  # reported to the page as an `error` event, never swallowed
            self.error = f"{type(exc).__name__}: {exc}"
            self.state = "error"
            self.emit("error", {"message": self.error, "traceback": traceback.format_exc(limit=5)})
        finally:
            self.finished = time.monotonic()
            on_exit(self)


class JobManager:
    """Starts jobs within the limits, finds them by id, forgets old finished ones."""

    def __init__(self, limits: LabLimits | None = None) -> None:
        self.limits = limits or LabLimits()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._reserved = 0  # slots taken by jobs being prepared or running

    @property
    def running(self) -> int:
        with self._lock:
            return self._reserved

    def submit(self, demo: str, params: Any, prepare: Preparer) -> Job:
        """Prepare and start a job; raise :class:`JobLimitError` when ``max_jobs`` already run."""
        with self._lock:
            if self._reserved >= self.limits.max_jobs:
                raise JobLimitError(
                    f"Too many training jobs: {self._reserved} are running and the limit is "
                    f"{self.limits.max_jobs}. Stop one (close its page) or wait for one to finish."
                )
            self._reserved += 1
        try:
            torch.set_num_threads(1)  # this (server pool) thread builds the data and the model
            runner = prepare(params)
        except BaseException:
            with self._lock:
                self._reserved -= 1
            raise
        job = Job(demo, params.model_dump(mode="json"), unwatched_timeout=self.limits.unwatched_timeout)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        job.thread = threading.Thread(
            target=job._run, args=(runner, self._release), name=f"reglab-lab-{demo}-{job.id}", daemon=True
        )
        job.thread.start()
        return job

    def _release(self, job: Job) -> None:
        with self._lock:
            self._reserved -= 1

    def _forget_old(self) -> None:
        finished = [jid for jid, j in self._jobs.items() if j.finished_flag]
        for jid in finished[: max(0, len(finished) - self.limits.keep_finished)]:
            del self._jobs[jid]

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(f"No training job has id {job_id!r}; it never existed or finished long ago.")
        return job

    def cancel_all(self, wait: float = 5.0) -> None:
        """Cancel every job and wait up to ``wait`` seconds for their threads (server shutdown)."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel()
        deadline = time.monotonic() + wait
        for job in jobs:
            if job.thread is not None:
                job.thread.join(max(0.0, deadline - time.monotonic()))

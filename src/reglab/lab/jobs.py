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

Retention is bounded by bytes: each event is kept as its JSON text (serialized once, streamed
as is to every reader) and a job counts the characters it holds. Once a job has finished and no
stream is reading it, its decision-boundary heatmaps are dropped from every ``epoch`` event but
the last one of each arm (a page replaying a finished job only draws the final map; the curves
stay whole). The manager forgets the oldest finished jobs while more than
``LabLimits.keep_finished`` are kept or they hold more than ``LabLimits.keep_bytes`` bytes (the
newest finished job is always kept, so the page that just ran it can replay it, and is not
counted: a job holds at most a few MB, so the finished jobs hold at most ``keep_bytes`` plus that).
"""

from __future__ import annotations

import json
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
        self._events: list[tuple[str, str]] = []  # (event name, JSON text of its data)
        self._nbytes = 0
        self._readers = 0
        self._compacted = False
        self._paused = False
        self._credits: dict[Any, int] = {}  # epochs each arm may still train while paused (single-step)
        self.on_compact: Callable[[], None] | None = None  # the manager re-checks its byte budget
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._subscribed = threading.Event()
        self._unwatched_timeout = unwatched_timeout
        self.thread: threading.Thread | None = None

    # -- producer side (the training thread) ------------------------------------------------
    def emit(self, event: str, data: dict[str, Any]) -> None:
        text = json.dumps(data, separators=(",", ":"))
        with self._lock:
            self._events.append((event, text))
            self._nbytes += len(text)

    @property
    def should_cancel(self) -> bool:
        """True once cancelled, or when nobody subscribed within the unwatched timeout."""
        if self._cancel.is_set():
            return True
        if not self._subscribed.is_set() and time.monotonic() - self.created > self._unwatched_timeout:
            self._cancel.set()
            return True
        return False

    def register_arm(self, arm: Any) -> None:
        """A model trained by this job (``None`` for the only one); single-steps count per arm."""
        with self._lock:
            self._credits.setdefault(arm, 0)

    def wait_if_paused(self, arm: Any) -> None:
        """Called by the training thread of ``arm`` after each epoch: block while the job is paused,
        unless a single-step granted this arm one more epoch; return at once when cancelled."""
        while True:
            with self._lock:
                if not self._paused:
                    return
                if self._credits.get(arm, 0) > 0:
                    self._credits[arm] -= 1
                    return
            if self.should_cancel:
                return
            time.sleep(0.02)

    def control(self, action: str) -> None:
        """``pause``: stop after the current epoch; ``resume``: go on; ``step``: pause, and train
        exactly one more epoch of every arm."""
        with self._lock:
            if action == "pause":
                self._paused = True
            elif action == "resume":
                self._paused = False
            elif action == "step":
                self._paused = True
                for arm in self._credits:
                    self._credits[arm] = 1
            else:
                raise ValueError(f"unknown action {action!r}")

    @property
    def paused(self) -> bool:
        with self._lock:
            return self._paused

    # -- consumer side -------------------------------------------------------------------------
    def subscribe(self) -> None:
        self._subscribed.set()

    def cancel(self) -> None:
        self._cancel.set()

    def events_since(self, index: int) -> list[tuple[str, dict[str, Any]]]:
        """``[(event, data), ...]`` from ``index`` on, the data parsed from its JSON text."""
        return [(name, json.loads(text)) for name, text in self.raw_since(index)]

    def raw_since(self, index: int) -> list[tuple[str, str]]:
        """``[(event, JSON text), ...]`` from ``index`` on (what the event stream sends)."""
        with self._lock:
            return self._events[index:]

    @property
    def n_events(self) -> int:
        with self._lock:
            return len(self._events)

    @property
    def nbytes(self) -> int:
        """Characters of JSON text this job holds (its retained size, give or take list overhead)."""
        with self._lock:
            return self._nbytes

    def reader_enter(self) -> None:
        """A stream starts reading this job's events (compaction waits for it)."""
        with self._lock:
            self._readers += 1

    def reader_exit(self) -> None:
        with self._lock:
            self._readers -= 1
        if self.compact() and self.on_compact is not None:
            self.on_compact()

    def compact(self) -> int:
        """Drop the heatmaps nobody will replay; return the bytes freed.

        Only once the job has finished and no stream is reading it: then every ``epoch`` event
        loses its ``boundary`` except the last event carrying one for each arm.
        """
        with self._lock:
            if self._compacted or self._readers > 0 or not self.finished_flag:
                return 0
            self._compacted = True
            last: dict[Any, int] = {}
            parsed: dict[int, dict[str, Any]] = {}
            for i, (name, text) in enumerate(self._events):
                if name == "epoch" and '"boundary"' in text:
                    data = json.loads(text)
                    if "boundary" in data:
                        parsed[i] = data
                        last[data.get("arm")] = i
            keep = set(last.values())
            freed = 0
            for i, data in parsed.items():
                if i in keep:
                    continue
                del data["boundary"]
                text = json.dumps(data, separators=(",", ":"))
                freed += len(self._events[i][1]) - len(text)
                self._events[i] = ("epoch", text)
            self._nbytes -= freed
            return freed

    @property
    def finished_flag(self) -> bool:
        return self.state in TERMINAL

    def status(self) -> dict[str, Any]:
        return {"id": self.id, "demo": self.demo, "state": self.state, "events": self.n_events, "error": self.error,
                "paused": self.paused}

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
            self.compact()
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
        job.on_compact = self._trim
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
            self._forget_old()

    def _trim(self) -> None:
        with self._lock:
            self._forget_old()

    @property
    def retained_bytes(self) -> int:
        """Bytes of event text held by all jobs kept (running and finished)."""
        with self._lock:
            jobs = list(self._jobs.values())
        return sum(j.nbytes for j in jobs)

    def _forget_old(self) -> None:
        """Forget the oldest finished jobs beyond ``keep_finished`` or ``keep_bytes``, the newest one
        aside (lock held)."""
        finished = [j for j in self._jobs.values() if j.finished_flag][:-1]  # the newest is kept
        total = sum(j.nbytes for j in finished)
        count = len(finished) + 1
        for job in finished:
            if count <= self.limits.keep_finished and total <= self.limits.keep_bytes:
                break
            del self._jobs[job.id]
            count -= 1
            total -= job.nbytes

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

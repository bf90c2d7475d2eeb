"""The local runner: run specs in worker processes, one single-threaded worker per core.

Workers start with the ``spawn`` method (safe with torch's threads), set
``torch.set_num_threads(1)`` (measured: two threads per process on a shared 2-core machine made
small-model training 20-60x slower), exit when the parent dies (``runners.orphan``: a parent-death
signal on Linux and a watchdog on the parent's pid), ignore SIGINT (Ctrl-C reaches the parent, which stops them)
and load their data themselves (``reglab.data`` caches built datasets on disk; ``preload`` can
send small ones, but a large spawn payload once hung a parent whose new worker died). Outcomes are
yielded in the order runs finish; the caller (the parent) writes them to the store, so a killed
worker or parent never leaves a half-written run.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import pickle
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from reglab.errors import ReglabError
from reglab.experiments.spec import RunSpec

__all__ = ["Outcome", "iter_local", "default_workers"]

#: Datasets larger than this (pickled bytes) are loaded by each worker instead of sent to it.
PRELOAD_LIMIT_BYTES = 16 * 2**20


@dataclass
class Outcome:
    """A finished run: ``result`` (a RunResult) or ``error`` (one line) and ``detail`` (traceback)."""

    spec: RunSpec
    result: Any = None
    error: str | None = None
    detail: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def default_workers() -> int:
    """One worker per CPU core available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _execute(spec_dict: dict[str, Any], device: str, callbacks: Any = None) -> tuple[str, Any, str | None, float]:
    """Worker body: ('ok', result dict, None, s) or ('error', message, traceback, s)."""
    from reglab.experiments.execute import run_one

    start = time.perf_counter()
    try:
        result = run_one(RunSpec.from_dict(spec_dict), device=device, callbacks=callbacks)
    except Exception as exc:  # noqa: BLE001 - reported per run, the study goes on
        return "error", _describe(exc), traceback.format_exc(), time.perf_counter() - start
    return "ok", result.to_dict(), None, time.perf_counter() - start


def _execute_chunk(
    spec_dicts: list[dict[str, Any]], device: str, masks: str = "exact",
    on_runs: Callable[[float], None] | None = None,
) -> list[tuple[str, Any, str | None, float]]:
    """Worker body for a vectorized chunk: one payload per spec (all errors if the chunk fails).
    ``on_runs(runs)`` hears after each epoch how many runs' worth of epochs the chunk trained."""
    from reglab.experiments.vectorized import run_vectorized

    start = time.perf_counter()
    n = len(spec_dicts)
    on_epoch = None if on_runs is None else (lambda epoch, epochs: on_runs(n * epoch / epochs))
    try:
        results = run_vectorized([RunSpec.from_dict(d) for d in spec_dicts], device=device, progress=False,
                                 masks=masks, on_epoch=on_epoch)
    except Exception as exc:  # noqa: BLE001
        seconds = time.perf_counter() - start
        return [("error", _describe(exc), traceback.format_exc(), seconds) for _ in spec_dicts]
    return [("ok", r.to_dict(), None, r.seconds) for r in results]


def _init_worker(preloaded: bytes | None, threads: int, registered: bytes | None = None,
                 factories: bytes | None = None, parent: int | None = None) -> None:
    if parent is not None:
        from reglab.experiments.runners.orphan import die_with_parent

        die_with_parent(parent)  # a study killed with -9 takes its workers with it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["REGLAB_PROGRESS"] = "0"
    import torch

    torch.set_num_threads(threads)
    if registered is not None:  # data registered in memory exists only in the parent: always sent
        from reglab.data.memory import restore

        restore(pickle.loads(registered))
    if factories is not None:  # model factories registered in the parent (reglab.models.register)
        from reglab.models.user import receive_registered

        receive_registered(factories)
    if preloaded is not None:
        from reglab.experiments.execute import preload_splits

        preload_splits(pickle.loads(preloaded))


def _registered_factories() -> bytes | None:
    from reglab.models.user import sendable_registered

    return sendable_registered()


def _to_outcome(spec: RunSpec, payload: tuple[str, Any, str | None, float]) -> Outcome:
    from reglab.experiments.execute import RunResult

    status, value, detail, seconds = payload
    if status == "ok":
        return Outcome(spec, result=RunResult.from_dict(value), seconds=seconds)
    return Outcome(spec, error=value, detail=detail, seconds=seconds)


class _QueuePoster:
    """``on_runs`` of a chunk in a worker process: posts ``(job, runs)`` to the parent's queue."""

    def __init__(self, queue: Any, job: int) -> None:
        self.queue, self.job = queue, job

    def __call__(self, runs: float) -> None:
        self.queue.put((self.job, runs))


def _inline(
    jobs: Sequence[tuple[bool, list[RunSpec]]], device: str, threads: int, masks: str = "exact",
    callbacks: Any = None, on_progress: Callable[[int, float], None] | None = None,
) -> Iterator[Outcome]:
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        for job, (batched, chunk) in enumerate(jobs):
            if batched:
                on_runs = None if on_progress is None else (lambda runs, job=job: on_progress(job, runs))
                payloads = _execute_chunk([s.to_dict() for s in chunk], device, masks, on_runs)
            else:
                payloads = [_execute(chunk[0].to_dict(), device, callbacks)]
            for spec, payload in zip(chunk, payloads):
                yield _to_outcome(spec, payload)
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def _main_not_reimported() -> Iterator[None]:
    """Keep spawned workers from re-running the caller's ``__main__`` script.

    With the ``spawn`` start method every new worker imports the parent's main module; a script
    that calls ``run_study`` at top level (no ``if __name__ == "__main__":`` guard) would then
    start the study again inside each worker, which dies on multiprocessing's bootstrapping error.
    The workers run only reglab's functions, so they need nothing from ``__main__``: while the
    pool starts its workers, ``__main__`` looks like an interactive session (no spec, no file).
    """
    main = sys.modules.get("__main__")
    if main is None:
        with _sigint_ignored():
            yield
        return
    missing = object()
    saved = {name: getattr(main, name, missing) for name in ("__spec__", "__file__")}
    main.__spec__ = None
    if saved["__file__"] is not missing:
        del main.__file__
    try:
        with _sigint_ignored():
            yield
    finally:
        for name, value in saved.items():
            if value is not missing:
                setattr(main, name, value)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Start workers with SIGINT ignored (inherited at exec, kept by Python), so a Ctrl-C that
    reaches the whole process group while a worker is still importing torch cannot print a
    KeyboardInterrupt traceback from it; the parent handles Ctrl-C and stops the workers."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop(pool: cf.ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel queued runs and terminate the workers (running runs are lost,
    which is fine: a run is stored only when complete)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(timeout=5)


def iter_local(
    specs: Sequence[RunSpec],
    *,
    workers: int | None = None,
    device: str = "cpu",
    threads: int = 1,
    preload: dict[str, Any] | None = None,
    start_method: str = "spawn",
    chunks: Sequence[Sequence[RunSpec]] | None = None,
    masks: str = "exact",
    callbacks: Any = None,
    on_progress: Callable[[int, float], None] | None = None,
) -> Iterator[Outcome]:
    """Run ``specs`` and yield an :class:`Outcome` as each finishes (finish order).

    Args:
        specs: runs trained one by one (each a job for ``run_one``).
        workers: worker processes (None: one per core). With 1 worker, or one job, the jobs
            execute in this process, one after the other.
        device: torch device for every run. Defaults to ``"cpu"``.
        threads: torch threads per worker. Defaults to 1.
        preload: datasets already loaded here (``execute.cached_splits()``), sent to the workers.
        start_method: multiprocessing start method. Defaults to ``"spawn"``.
        chunks: more jobs: groups of specs, each trained as one batched model by
            ``reglab.experiments.vectorized.run_vectorized`` in one worker. Defaults to None.
        masks: the chunks' dropout masks, ``"exact"`` or ``"fast"`` (see ``run_vectorized``).
            Defaults to ``"exact"``.
        callbacks: user Trainer callbacks of the single runs (``run_one``'s ``callbacks``; a
            module-level factory ``spec -> callbacks`` when workers are processes). Defaults to None.
        on_progress: called in this process as batched chunks train, with ``(chunk index, runs)``:
            how many runs' worth of epochs chunk ``chunks[i]`` has trained so far (fractional),
            so a progress bar moves per epoch instead of when the whole group ends. Defaults to None.

    Closing the iterator early (or Ctrl-C in the caller) stops the workers at once.
    """
    # jobs: (batched?, specs); batched chunks first (the longest), then single runs
    jobs: list[tuple[bool, list[RunSpec]]] = [(True, list(c)) for c in (chunks or ()) if c]
    jobs += [(False, [s]) for s in specs]
    if not jobs:
        return
    workers = min(workers or default_workers(), len(jobs))
    if workers <= 1:
        yield from _inline(jobs, device, threads, masks, callbacks, on_progress)
        return
    blob = pickle.dumps(preload) if preload else None
    if blob is not None and len(blob) > PRELOAD_LIMIT_BYTES:
        blob = None
    from reglab.data.memory import snapshot

    names = {s.data.name for _, job in jobs for s in job}
    registered = {k: v for k, v in snapshot().items() if k in names}
    registered_blob = pickle.dumps(registered) if registered else None
    pool = cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(start_method),
        initializer=_init_worker,
        initargs=(blob, threads, registered_blob, _registered_factories(), os.getpid()),
    )
    manager = queue = None
    if on_progress is not None and any(batched for batched, _ in jobs):
        manager = multiprocessing.get_context(start_method).Manager()
        queue = manager.Queue()

    def drain() -> None:
        while queue is not None:
            try:
                index, runs = queue.get_nowait()
            except Exception:  # noqa: BLE001 - queue.Empty from the manager's proxy
                return
            on_progress(index, runs)  # type: ignore[misc]

    def finished() -> Iterator[cf.Future]:
        pending = set(futures)
        while pending:
            done, pending = cf.wait(pending, timeout=0.25, return_when=cf.FIRST_COMPLETED)
            drain()
            yield from done

    try:
        with _main_not_reimported():  # workers start during the submits
            futures = {
                (pool.submit(_execute_chunk, [s.to_dict() for s in job], device, masks,
                             None if queue is None else _QueuePoster(queue, i)) if batched
                 else pool.submit(_execute, job[0].to_dict(), device, callbacks)): (batched, job)
                for i, (batched, job) in enumerate(jobs)
            }
        for future in finished():
            batched, job = futures[future]
            try:
                payload = future.result()
            except cf.process.BrokenProcessPool as exc:
                raise ReglabError(
                    f"A worker process died while training (run {job[0].arm!r}, seed {job[0].seed}): "
                    f"{exc}. Completed runs are stored; run the same command again to resume."
                ) from None
            payloads = payload if batched else [payload]
            for spec, item in zip(job, payloads):
                yield _to_outcome(spec, item)
    finally:
        _stop(pool)
        if manager is not None:
            manager.shutdown()

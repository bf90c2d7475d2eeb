"""The Ray runner: the same jobs as the local runner, as tasks on a Ray cluster.

A study's jobs (single runs for ``run_one``, vectorized chunks for ``run_vectorized``) become Ray
tasks of one CPU each, which set ``torch.set_num_threads(1)`` (measured: one single-threaded
worker per core for small models) and return the local runner's payloads, so a run trained on a
Ray worker is stored exactly as one trained in a local worker process, with the same numbers for
the same seed (the spec is the whole input). Outcomes are yielded as tasks finish; the caller
writes them to the store, so a lost node or a Ctrl-C never leaves a half-written run (pending
tasks are cancelled and the study resumes from the store).

The cluster: ``address`` (``"auto"``, ``"ray://head:10001"``, ...) or ``$RAY_ADDRESS``; with
neither, a local Ray instance is started for the study and shut down after it. The cluster's
nodes need reglab installed (the same version); downloaded datasets are read from
``$REGLAB_DATA_DIR`` on each node, passed to the tasks when set here.

Ray is optional: ``pip install 'reglab[ray]'``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

from reglab.errors import ReglabError
from reglab.experiments.runners.local import Outcome, _execute, _execute_chunk, _to_outcome
from reglab.experiments.spec import RunSpec

__all__ = ["ray_session", "iter_ray"]


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ReglabError(
            f"The Ray runner needs the ray package, which cannot be imported here ({exc}). "
            "Install it with: pip install 'reglab[ray]'"
        ) from None
    return ray


def _job(kind: str, payload: Any, device: str, masks: str,
         registered: dict[str, Any] | None = None) -> list[tuple[str, Any, str | None, float]]:
    """Task body: one job, single-threaded, as a local worker runs it (with the data registered
    in memory in the driver, ``reglab.data.register``)."""
    import torch

    torch.set_num_threads(1)
    os.environ["REGLAB_PROGRESS"] = "0"
    if registered:
        from reglab.data.memory import restore

        restore(registered)
    if kind == "chunk":
        return _execute_chunk(payload, device, masks)
    return [_execute(payload, device)]


@contextlib.contextmanager
def _loopback_only(ray: Any) -> Iterator[None]:
    """While a local Ray instance starts: make Ray take 127.0.0.1 as this node's address.

    Ray resolves even an explicit ``_node_ip_address="127.0.0.1"`` to the machine's network address
    unless "clusters" are disabled, which it does itself on macOS/Windows through
    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``. That switch is read into
    ``ray._private.ray_constants.ENABLE_RAY_CLUSTER`` at import, so it is set both there (this
    process) and in the environment (the processes ``ray.init`` starts), then restored.
    """
    constants = getattr(getattr(ray, "_private", None), "ray_constants", None)
    saved_env = os.environ.get(_CLUSTER_SWITCH)
    saved = getattr(constants, "ENABLE_RAY_CLUSTER", None)
    os.environ[_CLUSTER_SWITCH] = "0"
    if constants is not None:
        constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        if saved_env is None:
            os.environ.pop(_CLUSTER_SWITCH, None)
        else:
            os.environ[_CLUSTER_SWITCH] = saved_env
        if constants is not None:
            constants.ENABLE_RAY_CLUSTER = saved


_CLUSTER_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


@contextlib.contextmanager
def ray_session(address: str | None = None) -> Iterator[int]:
    """Connect to Ray for the block; yields the cluster's CPU count.

    Uses an already initialised Ray as is. Otherwise connects to ``address`` or ``$RAY_ADDRESS``
    (a running cluster, left running afterwards) or starts a local instance (shut down afterwards).

    Raises:
        ReglabError: ray is not installed, or the cluster cannot be reached.
    """
    ray = _ray()
    owned = False
    if not ray.is_initialized():
        env = {"REGLAB_PROGRESS": "0"}
        if os.environ.get("REGLAB_DATA_DIR"):
            env["REGLAB_DATA_DIR"] = os.environ["REGLAB_DATA_DIR"]
        target = address or os.environ.get("RAY_ADDRESS") or None
        # A local instance is this study's private helper: bound to loopback only (Ray picks the
        # machine's network address otherwise), no dashboard, and its start-up notices kept out
        # of the study's output (a cluster's are kept).
        local = {"include_dashboard": False} if target is None else {}
        try:
            with _loopback_only(ray) if target is None else contextlib.nullcontext():
                ray.init(
                    address=target,
                    log_to_driver=False,
                    logging_level=logging.ERROR if target is None else logging.INFO,
                    runtime_env={"env_vars": env},
                    **local,
                )
        except Exception as exc:  # noqa: BLE001 - Ray raises several kinds; the message names the cause
            where = f"the Ray cluster at {target!r}" if target else "a local Ray instance"
            raise ReglabError(f"Cannot start or reach {where}: {exc}".rstrip(".") + ".") from None
        owned = True
    try:
        yield max(1, int(ray.cluster_resources().get("CPU", 1)))
    finally:
        if owned:
            ray.shutdown()


def iter_ray(
    specs: Sequence[RunSpec],
    *,
    chunks: Sequence[Sequence[RunSpec]] | None = None,
    device: str = "cpu",
    masks: str = "exact",
) -> Iterator[Outcome]:
    """Run ``specs`` (one task each) and ``chunks`` (one vectorized task each) on the Ray
    cluster of the enclosing :func:`ray_session`; yield an :class:`Outcome` per run as tasks finish.

    A task that dies (its worker or node lost) yields failed outcomes for its runs, with Ray's
    message; the study goes on and a resume retrains them. Closing the iterator early (or Ctrl-C
    in the caller) cancels the pending tasks.
    """
    ray = _ray()
    remote = ray.remote(num_cpus=1, max_retries=0)(_job)
    from reglab.data.memory import snapshot

    names = {s.data.name for c in (chunks or ()) for s in c} | {s.data.name for s in specs}
    used = {k: v for k, v in snapshot().items() if k in names}
    registered = ray.put(used) if used else None  # stored once, passed by reference
    jobs: dict[Any, list[RunSpec]] = {}
    for chunk in chunks or ():
        if chunk:
            jobs[remote.remote("chunk", [s.to_dict() for s in chunk], device, masks, registered)] = list(chunk)
    for spec in specs:
        jobs[remote.remote("run", spec.to_dict(), device, masks, registered)] = [spec]
    pending = list(jobs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            ref = done[0]
            runs = jobs[ref]
            try:
                payloads = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - worker/node lost, task cancelled...
                line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                for spec in runs:
                    yield Outcome(spec, error=f"{type(exc).__name__}: {line}", detail=str(exc))
                continue
            for spec, payload in zip(runs, payloads):
                yield _to_outcome(spec, payload)
    finally:
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)

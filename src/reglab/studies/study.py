"""``run_study``: plan -> skip completed -> run -> store (one transaction per run) -> report.

The main job of reglab (``reglab study`` / ``reglab sweep``). Interrupting it at any moment
(Ctrl-C, a killed process) loses at most the runs in flight; running the same config again resumes:
completed runs are skipped, so the finished study holds exactly the planned runs, none twice.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from reglab.errors import ConfigError, StoreError, invalid_argument
from reglab.experiments.bounds import cap_workers
from reglab.experiments.config import StudyConfig, SweepConfig
from reglab.experiments.lock import store_lock
from reglab.experiments.plan import plan
from reglab.experiments.runners.local import Outcome, default_workers, iter_local
from reglab.experiments.spec import RunSpec
from reglab.experiments.store import RunStore

__all__ = [
    "StudySummary", "run_study", "choose_runner", "split_runner", "vectorized_chunks", "STORE_NAME", "format_outcome",
    "preflight", "diagnose_result", "check_out_dir", "consume_outcomes", "beside_changed_plan",
    "LiveProgress",
]

STORE_NAME = "runs.sqlite"
#: Most runs trained as one batched model in one vectorized job.
VECTORIZED_CHUNK = 64
RunnerName = Literal["auto", "vectorized", "processes", "ray"]


@dataclass
class StudySummary:
    """What a call of :func:`run_study` did.

    Attributes:
        name / kind: the study's name and ``"study"`` or ``"sweep"``.
        out_dir / store_path: the output directory and its ``runs.sqlite``.
        planned: runs in the plan; skipped: already completed before this call (resume);
            completed: trained and stored by this call; failed: ``(arm, seed, error)`` of runs that
            raised (stored as failed, retried on the next call); diverged: ``(arm, seed, line)`` of
            the runs among ``completed`` whose loss became NaN/inf (stored as diverged, a result).
        runner / runner_reason: the runner used and why (e.g. why not vectorized).
        report: the ``reglab.report`` result (``html_path``, ``markdown_path``, ``table``) or None
            when no run is complete.
        seconds: wall-clock seconds of this call.
    """

    name: str
    kind: str
    out_dir: Path
    store_path: Path
    planned: int
    skipped: int = 0
    completed: int = 0
    failed: list[tuple[str, int, str]] = field(default_factory=list)
    diverged: list[tuple[str, int, str]] = field(default_factory=list)
    runner: str = "processes"
    runner_reason: str = ""
    report: Any = None
    seconds: float = 0.0


def _vectorized_api() -> tuple[Callable[..., Any], Callable[..., Any]] | str:
    try:
        from reglab.experiments.vectorized import run_vectorized, supports
    except ImportError as exc:
        return f"the vectorized runner is unavailable ({exc})"
    return supports, run_vectorized


def _group_key(spec: RunSpec) -> str:
    momentum = spec.optimizer.momentum if spec.optimizer.name == "sgd" else None
    return (f"{spec.data.model_dump_json()}|{spec.model.model_dump_json()}|{spec.batch_size}|"
            f"{spec.optimizer.name}|{momentum}")


def split_runner(specs: Sequence[RunSpec], runner: RunnerName) -> tuple[str, str, list[list[RunSpec]], list[RunSpec]]:
    """Decide how to train ``specs``: ``(runner, reason, vectorized groups, runs for processes)``.

    ``auto`` batches every group of two or more runs that share data, model, batch size and
    optimizer and that the vectorized runner supports (``reglab.experiments.vectorized.supports``);
    the other runs go to worker processes, and ``reason`` says why. ``vectorized`` raises
    :class:`ConfigError` (with the reason) when some run cannot be batched; ``processes`` never
    batches; ``ray`` batches as ``auto`` does and runs every job as a task on a Ray cluster.
    """
    specs = list(specs)
    if runner == "processes":
        return "processes", "worker processes were requested (--runner processes)", [], specs
    if not specs:
        return ("ray" if runner == "ray" else "processes"), "no run left to train", [], []
    api = _vectorized_api()
    if isinstance(api, str):
        groups, rest, why_not = [], specs, api
    else:
        supports = api[0]
        groups, rest, why_not = [], [], ""
        by_key: dict[str, list[RunSpec]] = {}
        for spec in specs:
            ok, reason = supports([spec])
            if ok:
                by_key.setdefault(_group_key(spec), []).append(spec)
            else:
                rest.append(spec)
                why_not = why_not or f"{spec.arm!r}: {reason}"
        for group in by_key.values():
            ok, reason = supports(group) if len(group) > 1 else (False, "a single run gains nothing from batching")
            if ok:
                groups.append(group)
            else:
                rest.extend(group)
                why_not = why_not or reason
        order = {s.key(): i for i, s in enumerate(specs)}
        rest.sort(key=lambda s: order[s.key()])
    if runner == "vectorized" and rest:
        raise ConfigError(invalid_argument("runner", "a runner that can train these runs", "vectorized",
                                           shown=f"runner='vectorized' ({why_not})"))
    n_vec = sum(len(g) for g in groups)
    shared = f"{n_vec} run{'s' if n_vec != 1 else ''} batched in {len(groups)} model group{'s' if len(groups) != 1 else ''}"
    if runner == "ray":
        single = f"{len(rest)} single run{'s' if len(rest) != 1 else ''}" + (f" (not vectorized: {why_not})" if rest else "")
        return "ray", f"Ray tasks: {shared}, {single}", groups, rest
    if not groups:
        return "processes", f"not vectorized: {why_not}", [], rest
    if not rest:
        return "vectorized", shared, groups, []
    return "vectorized+processes", f"{shared}; {len(rest)} in worker processes (not vectorized: {why_not})", groups, rest


def choose_runner(specs: Sequence[RunSpec], runner: RunnerName) -> tuple[str, str]:
    """``(runner, reason)`` of :func:`split_runner`."""
    name, reason, _, _ = split_runner(specs, runner)
    return name, reason


def preflight(specs: Sequence[RunSpec]) -> list[Any]:
    """Load each dataset once here and build each distinct model once, so a bad dataset or model
    option fails now, with its message, instead of in every worker. Each model is first built on
    the meta device (``bounds.model_footprint``): one that cannot fit in memory is refused before
    any allocation. Returns the footprints (``bounds.Footprint``) of the distinct models."""
    import dataclasses

    from reglab.experiments.bounds import check_memory, epoch_seconds, model_footprint
    from reglab.experiments.execute import build_model, load_splits
    from reglab.experiments.regression import check_regression_spec, regression_loss
    from reglab.models.user import is_user_model

    seen: set[str] = set()
    footprints = []
    for spec in specs:
        splits = load_splits(spec.data)
        # the run's own spec checks, here before anything is stored: a regression loss on a
        # classifier, or mixup/label smoothing/CutMix/distillation arms on a regression task
        regression_loss(spec.loss, splits.info.task, spec.arm)
        if splits.info.task != "classification":
            check_regression_spec(spec)
        reg = spec.regularization
        models = [(spec.model, reg.dropout, reg.drop_path)]
        if reg.distillation is not None:
            models.append((reg.distillation.teacher or spec.model, 0.0, 0.0))
        for model, dropout, drop_path in models:
            key = f"{spec.data.model_dump_json()}|{model.model_dump_json()}|{dropout}|{drop_path}"
            if key in seen:
                continue
            seen.add(key)
            try:
                user = is_user_model(model.name)
                if not user:  # before the real build: a model too large for memory is refused unbuilt
                    footprint = model_footprint(spec, splits.info, model, dropout=dropout, drop_path=drop_path)
                    check_memory(footprint, model.name)
                built = build_model(model, splits.info, dropout=dropout, drop_path=drop_path, probe=splits.x_train[:2])
                if user:  # the user's factory ran (and was checked) on the probe batch above
                    footprint = model_footprint(spec, splits.info, model, dropout=dropout, drop_path=drop_path)
                    check_memory(footprint, model.name)
                footprint = dataclasses.replace(footprint, epoch_seconds=epoch_seconds(built, spec, splits.info))
            except TypeError as exc:
                raise ConfigError(
                    invalid_argument("model.options", f"options accepted by model {model.name!r}",
                                     dict(model.options), shown=f"{exc}")
                ) from None
            footprints.append(footprint)
    return footprints


def vectorized_chunks(specs: Sequence[RunSpec], workers: int, max_size: int = 64) -> list[list[RunSpec]]:
    """Split specs (plan order, seeds outermost) into contiguous chunks for the vectorized runner:
    at least one per worker so every core trains (a batched step costs about the same for 5 or 15
    members: small models are per-op-overhead bound), at most ``max_size`` runs each; sizes differ
    by at most one."""
    specs = list(specs)
    if not specs:
        return []
    n = max(min(workers, len(specs)), -(-len(specs) // max_size))
    base, extra = divmod(len(specs), n)
    chunks, start = [], 0
    for i in range(n):
        size = base + (1 if i < extra else 0)
        chunks.append(specs[start:start + size])
        start += size
    return chunks


def _pct(value: Any) -> str:
    return f"{100 * value:.1f}%" if isinstance(value, (int, float)) else "n/a"


def format_outcome(outcome: Outcome, done: int, total: int, diagnosis: dict[str, Any] | None) -> str:
    """The live line printed for a finished run (rich markup)."""
    spec = outcome.spec
    head = f"[{done}/{total}] {escape(spec.arm)} seed {spec.seed}"
    if not outcome.ok:
        return f"[red]x[/red] {head}  [red]failed: {escape(outcome.error or '')}[/red]"
    if outcome.result.history.get("diverged_epoch") is not None:
        from reglab.training.history import diverged_line

        return f"[yellow]![/yellow] {head}  [yellow]{escape(diverged_line(outcome.result.history))}[/yellow]"
    final = outcome.result.final
    from reglab.analysis import quantities as Q

    if final.get("test_acc") is None and final.get("test_rmse") is not None:  # regression: original units
        parts = [f"test RMSE {final['test_rmse']:.4g}", f"train RMSE {final.get('train_rmse', math.nan):.4g}"]
    else:
        parts = [f"train {_pct(final.get('train_acc'))}", f"val {_pct(final.get('val_acc'))}",
                 f"test {_pct(final.get('test_acc'))}"]
    if final.get("test_acc") is not None and Q.acc_gap(final) is not None:
        parts.append(f"gap {Q.format_gap(Q.gap(final), 'accuracy')}")
    if final.get("stopped_epoch"):
        parts.append(f"{final['stopped_epoch']} ep")
    if diagnosis and diagnosis.get("rule") == "diverged":
        parts.append(f"[yellow]{escape(str(diagnosis.get('sentence', 'diverged')))}[/yellow]")
    elif diagnosis and diagnosis.get("verdict"):
        parts.append(str(diagnosis["verdict"]))
    parts.append(f"{outcome.result.seconds:.1f} s")
    return f"[green]v[/green] {head}  " + "  ".join(parts)


def check_out_dir(out_dir: Path) -> None:
    """Refuse an output directory that is an existing file (a missing one is created later).

    Raises:
        StoreError: ``out_dir`` exists and is not a directory.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise StoreError(f"Cannot use the output directory {str(out_dir)!r}: it is a file. "
                         "Expected a directory (or a path that does not exist yet).")


def plan_size_line(pending: Sequence[RunSpec], footprints: Sequence[Any], workers: int) -> str:
    """``"Plan: 15 runs, 1,500 run-epochs; largest model 15,210 parameters, about 1.2 MiB per run
    (weights, gradients, optimizer state, one batch's activations)."``"""
    from reglab.experiments.bounds import format_bytes, format_seconds

    epochs = sum(s.epochs for s in pending)
    largest = max(footprints, key=lambda f: f.total_bytes, default=None)
    line = f"Plan: {len(pending):,} runs to train, {epochs:,} run-epochs on {workers} worker(s)"
    if largest is not None:
        line += (f"; largest model {largest.params:,} parameters, about {format_bytes(largest.total_bytes)} per "
                 "run (weights, gradients, optimizer state, one batch's activations)")
    slowest = max((f.epoch_seconds for f in footprints if f.epoch_seconds is not None), default=None)
    if slowest is not None:
        line += (f"; at most about {format_seconds(slowest * epochs / max(1, workers))} of training "
                 "(each run alone at the slowest model's measured step time; batched runs are faster)")
    return line + "."


def beside_changed_plan(config: StudyConfig | SweepConfig, specs: Sequence[RunSpec],
                        console: Console) -> StudyConfig | SweepConfig:
    """Under the default name and output directory, a plan that differs from the stored study of
    that name (completed runs not in the new plan) becomes a new study beside it (``default-2``,
    ``default-3``, ...; the first whose store holds no conflicting runs), said in one line.
    A name or ``--out`` given by the user is kept: the store then refuses the changed plan.
    """
    if "name" in config.model_fields_set or config.out is not None:
        return config
    keys = [s.key() for s in specs]
    base, candidate = config.name, config
    for i in range(1, 1000):
        if i > 1:
            candidate = config.model_copy(update={"name": f"{base}-{i}"})
        path = candidate.out_dir() / STORE_NAME
        if not path.is_file():
            break
        with RunStore(path) as store:
            if not store.unplanned_completed(candidate.name, keys):
                break
    if candidate is not config:
        console.print(f"The plan differs from the stored study {escape(base)!r} in "
                      f"{escape(str(config.out_dir()))}: starting study {escape(candidate.name)!r} "
                      f"in {escape(str(candidate.out_dir()))} beside it (--name chooses one).",
                      highlight=False, soft_wrap=True)
    return candidate


def diagnose_result(result: Any) -> dict[str, Any] | None:
    """``analysis.diagnose`` of a finished run's history and final metrics, as the dict stored with
    the run; None for a diverged run (its ``stop_reason`` says what happened)."""
    from reglab.analysis import diagnose

    if result.history.get("diverged_epoch") is not None:
        return None
    return diagnose(result.history, result.final, num_classes=result.final.get("num_classes")).to_dict()


@contextlib.contextmanager
def _executor(runner: str, config: StudyConfig | SweepConfig) -> Iterator[int | None]:
    """For the Ray runner, the Ray session (yields the cluster's CPU count); else nothing (None)."""
    if runner != "ray":
        yield None
        return
    from reglab.experiments.runners.ray_runner import ray_session

    with ray_session(config.ray_address) as cpus:
        yield cpus


def run_study(
    config: StudyConfig | SweepConfig,
    *,
    resume: bool = True,
    runner: RunnerName | None = None,
    workers: int | None = None,
    device: str = "cpu",
    console: Console | None = None,
    progress: bool | None = None,
    report: bool = True,
    max_runs: int | None = None,
    callbacks: Any = None,
) -> StudySummary:
    """Run a study or sweep to completion and write its report.

    Args:
        config: the study or sweep config.
        resume: skip runs already completed in the store (True) or replace the study's stored runs
            (False). Defaults to True.
        runner: ``"auto"``, ``"vectorized"``, ``"processes"`` or ``"ray"``. Defaults to
            ``config.runner``.
        workers: worker processes (None: ``config.workers`` or one per core); with ``"ray"``,
            the vectorized chunks per group (None: one per CPU of the cluster).
        device: torch device. Defaults to ``"cpu"``.
        console: where live lines and the progress bar go (None: a new stdout console).
        progress: show the progress bar (None: when the console is a terminal and
            ``$REGLAB_PROGRESS`` is not ``0``).
        report: build the report at the end. Defaults to True.
        max_runs: train at most this many pending runs in this call (the rest stay planned).
            Defaults to None (all).
        callbacks: user :class:`reglab.training.Callback` s for every run's Trainer, or a
            module-level function ``spec -> callbacks`` (picklable for worker processes). Every run
            then trains alone in the Trainer (no batched runs: they have no Trainer); not with Ray.
            Defaults to None.

    Returns:
        :class:`StudySummary`.

    Raises:
        ConfigError: a bad plan (unknown dataset/model option, unusable runner).
        StoreError: the output directory or the store cannot be used.
        KeyboardInterrupt: Ctrl-C; completed runs are stored, the workers are stopped.
    """
    start = time.perf_counter()
    console = console or Console()
    specs = plan(config)
    if resume:
        config = beside_changed_plan(config, specs, console)
    out_dir = config.out_dir()
    check_out_dir(out_dir)
    store_path = out_dir / STORE_NAME
    footprints = preflight(specs)  # bad dataset/model options fail here, before the store is touched
    with store_lock(store_path), RunStore(store_path) as store:
        kind = "sweep" if isinstance(config, SweepConfig) else "study"
        store.plan_study(config.name, kind, config.model_dump(mode="json"), specs, replace=not resume)
        done = store.completed_keys(config.name)
        pending = [s for s in specs if s.key() not in done]
        if max_runs is not None:
            pending = pending[:max_runs]
        summary = StudySummary(config.name, kind, out_dir, store_path, planned=len(specs),
                               skipped=len(specs) - len([s for s in specs if s.key() not in done]))
        name, reason, groups, singles = split_runner(pending, runner or config.runner)
        from reglab.models.user import in_process_reason

        in_process = in_process_reason(s.model.name for s in pending)
        if in_process is not None:
            workers, reason = 1, f"{reason}; {in_process}"
        if callbacks is not None:
            if name == "ray":
                raise ConfigError(invalid_argument("callbacks", "None with the ray runner", callbacks))
            singles, groups = pending, []
            name, reason = "processes", "user callbacks run in the Trainer, so every run trains alone"
        summary.runner, summary.runner_reason = name, reason
        if pending:
            with _executor(name, config) as cluster_cpus:
                n_workers = workers or config.workers or cluster_cpus or default_workers()
                if name != "ray":
                    n_workers, warning = cap_workers(n_workers, default_workers())
                    if warning:
                        console.print(f"[yellow]{escape(warning)}[/yellow]", soft_wrap=True)
                chunks = [c for g in groups for c in vectorized_chunks(g, n_workers, VECTORIZED_CHUNK)]
                live = LiveProgress()
                if name == "ray":
                    from reglab.experiments.runners.ray_runner import iter_ray

                    outcomes = iter_ray(singles, chunks=chunks, device=device, masks=config.masks)
                else:
                    outcomes = iter_local(singles, workers=n_workers, device=device, chunks=chunks,
                                          masks=config.masks, callbacks=callbacks,
                                          on_progress=live.chunk_progress)
                live.chunks = [[s.key() for s in c] for c in chunks]
                console.print(
                    f"[bold]{kind} {escape(config.name)}[/bold]: {len(specs)} runs planned, "
                    f"{summary.skipped} already done, {len(pending)} to train ({escape(name)}: {escape(reason)})",
                    soft_wrap=True,
                )
                console.print(escape(plan_size_line(pending, footprints, n_workers)), soft_wrap=True)
                consume_outcomes(outcomes, store, config.name, summary, console, len(specs), progress,
                                 live=live)
        if report and store.counts(config.name)["completed"]:
            from reglab.report import build_report

            summary.report = build_report(store, out_dir, study=config.name)
    summary.seconds = time.perf_counter() - start
    return summary


class LiveProgress:
    """The study's bar position between finished runs: batched chunks report after every epoch
    how many runs' worth of epochs they trained (``chunk_progress``, given to ``iter_local``), so
    the bar moves per epoch instead of jumping when a whole group ends.

    ``position(done)`` is the finished runs plus the fractional runs of chunks still training.
    """

    def __init__(self) -> None:
        self.chunks: list[list[str]] = []  # spec keys per chunk, in iter_local's chunk order
        self.partial: dict[int, float] = {}
        self.on_change: Callable[[], None] | None = None

    def chunk_progress(self, chunk: int, runs: float) -> None:
        self.partial[chunk] = runs
        if self.on_change is not None:
            self.on_change()

    def finished(self, key: str) -> None:
        """A run of a chunk arrived: it now counts as done, not as partial progress."""
        for i, keys in enumerate(self.chunks):
            if key in keys and i in self.partial:
                self.partial[i] = max(0.0, self.partial[i] - 1.0)

    def position(self, done: int) -> float:
        return done + sum(self.partial.values())


def consume_outcomes(outcomes: Iterator[Outcome], store: RunStore, study: str, summary: Any,
                     console: Console, total: int, progress: bool | None,
                     live: LiveProgress | None = None) -> None:
    """Store each finished run as it arrives (result with its diagnosis, or failure), count it in
    ``summary`` (``completed``, ``failed``; ``skipped`` is the count already done) and print its
    :func:`format_outcome` line; closes ``outcomes`` at the end, also on Ctrl-C.

    Args:
        outcomes: the runner's outcomes.
        store: the open run store.
        study: the study name in the store.
        summary: a :class:`StudySummary` or any object with ``skipped``, ``completed``, ``failed``.
        console: where the lines and the progress bar go.
        total: runs planned (the ``[done/total]`` of each line).
        progress: show the progress bar (None: when the console is a terminal and
            ``$REGLAB_PROGRESS`` is not ``0``).
    """
    if progress is None:
        progress = console.is_terminal and os.environ.get("REGLAB_PROGRESS", "1") != "0"
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        disable=not progress,
        transient=False,
    )
    done = summary.skipped
    try:
        with bar:
            task = bar.add_task(study, total=total, completed=done)
            if live is not None:
                live.on_change = lambda: bar.update(task, completed=live.position(done))
            for outcome in outcomes:
                diagnosis = None
                if outcome.ok:
                    diagnosis = diagnose_result(outcome.result)
                    store.add_result(study, outcome.result, diagnosis)
                    summary.completed += 1
                    if outcome.result.history.get("diverged_epoch") is not None and hasattr(summary, "diverged"):
                        from reglab.training.history import diverged_line

                        summary.diverged.append((outcome.spec.arm, outcome.spec.seed,
                                                 diverged_line(outcome.result.history)))
                else:
                    store.add_failure(study, outcome.spec, outcome.error or "", outcome.seconds)
                    summary.failed.append((outcome.spec.arm, outcome.spec.seed, outcome.error or ""))
                done += 1
                if live is not None:
                    live.finished(outcome.spec.key())
                bar.update(task, completed=done if live is None else live.position(done))
                console.print(format_outcome(outcome, done, total, diagnosis), highlight=False, soft_wrap=True)
    finally:
        close = getattr(outcomes, "close", None)
        if close is not None:
            close()

"""``run_tune`` (``reglab tune``): search regularization strengths with Optuna, choose the best
setting on validation data, then measure its test score once.

The search space is read from the technique definitions: each technique named in ``techniques``
is searched over its ``tune`` range (``reglab.techniques.SearchRange``: uniform, log-uniform or
integer). The sampler is Optuna's TPE (Bergstra et al. 2011, "Algorithms for Hyper-Parameter
Optimization", NeurIPS; Optuna's defaults, 10 random start-up trials); trial ``i`` samples with
seed ``seed * 100003 + i``, so the same command gives the same trials, resumed or not. Trials stop
early through a pruner fed the per-epoch validation metric by a Trainer callback
(:class:`OptunaPruning`):

* ``median`` (default): Optuna's ``MedianPruner`` (the rule of Google Vizier, Golovin et al. 2017,
  KDD): stop a trial whose metric at an epoch is worse than the median of the finished trials at
  that epoch, after 5 finished trials and never in the first quarter of the epochs (regularized
  runs learn slower at first).
* ``halving``: Optuna's ``SuccessiveHalvingPruner`` (asynchronous successive halving, Li et al.
  2020, MLSys, arXiv:1810.05934), reduction factor 3, first rung at a ninth of the epochs: at each
  rung only the top third of the trials go on.
* ``none``: every trial trains all its epochs.

The objective is the validation accuracy of the weights a trial ends with (classification;
maximised) or their validation loss (regression; minimised), measured as ``run_one`` measures it.
Trial 0 is the baseline: the base config with every searched technique off. Test data is never
read while searching: the best trial on validation (pruned trials cannot be best) is trained once
more with ``run_one`` (same spec and seed, so the same weights) and its test score is measured
then, and stored in the run store ``<out>/runs.sqlite`` (arm ``tuned``, or ``baseline`` when no
trial beat it).

The Optuna study lives in ``<out>/tune.sqlite`` (study name: the config's ``name``). Running the
same command again resumes it: trials already finished (complete or pruned) are not rerun, and
``trials`` is the total the study should hold. Each trial is one function call,
:func:`evaluate_trial`, given the finished trials so far: it samples, trains, prunes and returns
the finished trial, which the driver adds to the study. The local runner calls it in this process,
one trial after another; ``runner="ray"`` runs it as Ray tasks (one CPU each, ``workers`` at a
time, default: the cluster's CPUs), so a tune on a cluster is the same command with
``--runner ray``. With more than one trial in flight, a trial samples and prunes against the
trials finished when it started; with one at a time the Ray runner gives the local runner's trials.
Interrupting loses only the trials in flight. Optuna is an extra: ``pip install 'reglab[tune]'``.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from reglab._validate import format_choices
from reglab.errors import ConfigError, ReglabError, invalid_argument
from reglab.experiments.config import DEFAULT_EPOCHS, OutputsMixin, check_study_name
from reglab.experiments.spec import DataSpec, ModelSpec, OptimizerSpec, RegularizationSpec, RunSpec
from reglab.techniques import TECHNIQUES, get_technique, tunable, write_arm
from reglab.training import Callback

__all__ = [
    "TuneConfig", "TuneSummary", "TrialRow", "OptunaPruning", "load_tune_config", "run_tune", "trial_spec",
    "evaluate_trial", "make_pruner", "trials_table", "trials_markdown", "best_lines", "TUNE_DB", "DEFAULT_TECHNIQUES",
]

#: The Optuna study's SQLite file, beside the run store (``runs.sqlite``) in the output directory.
TUNE_DB = "tune.sqlite"
DEFAULT_TECHNIQUES = ("dropout", "weight_decay")
#: Trial ``i`` samples with seed ``seed * SEED_STRIDE + i``.
SEED_STRIDE = 100003
#: ``median``: finished trials before any pruning (Optuna's default).
MEDIAN_STARTUP_TRIALS = 5
#: ``halving``: keep the top 1/REDUCTION_FACTOR at each rung.
REDUCTION_FACTOR = 3
#: Settings that may change between calls of one tune study (the rest must match to resume).
_RESUMABLE = ("trials", "runner", "workers", "ray_address", "out")


def _optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:
        raise ReglabError(
            f"reglab tune needs the optuna package, which cannot be imported here ({exc}). "
            "Install it with: pip install 'reglab[tune]'"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


class TuneConfig(OutputsMixin, BaseModel):
    """A tuning study (TOML for ``reglab tune --config``).

    Defaults: MNIST-1D, the MLP, AdamW lr 1e-2, batch 100, the default study's epochs, seed 0,
    dropout and weight decay searched, 20 trials, median pruning, trials in this process.

    Attributes:
        techniques: technique names with a ``tune`` range (``reglab.techniques.tunable()``).
        trials: finished trials (complete or pruned) the study should hold, the baseline included.
        pruner: ``"median"``, ``"halving"`` or ``"none"``.
        seed: the runs' seed (every trial trains with it: trials differ only in their setting)
            and the sampler's.
        runner: ``"local"`` (this process, one trial at a time) or ``"ray"`` (Ray tasks).
        workers: Ray trials in flight at once (None: the cluster's CPUs).
        ray_address: the Ray cluster (None: ``$RAY_ADDRESS`` or a local instance).
        data / model / optimizer / regularization: the base every trial starts from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["tune"] = "tune"
    name: str = "tune"
    out: str | None = None  # output directory (tune.sqlite, runs.sqlite, tune.md)
    techniques: list[str] = Field(default_factory=lambda: list(DEFAULT_TECHNIQUES), min_length=1)
    trials: int = Field(default=20, ge=1)
    pruner: Literal["median", "halving", "none"] = "median"
    seed: int = Field(default=0, ge=0)
    epochs: int = Field(default=DEFAULT_EPOCHS, ge=1)
    batch_size: int = Field(default=100, ge=1)
    runner: Literal["local", "ray"] = "local"
    workers: int | None = Field(default=None, ge=1)
    ray_address: str | None = None
    data: DataSpec = Field(default_factory=DataSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    regularization: RegularizationSpec = Field(default_factory=RegularizationSpec)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return check_study_name(value)

    @field_validator("data")
    @classmethod
    def _check_data(cls, value: DataSpec) -> DataSpec:
        """A relative data path becomes absolute, as in a study config (a resume from another
        directory and Ray tasks find the same file)."""
        from reglab.data.user import resolve_name

        name = resolve_name(value.name, argument="data.name")
        return value if name == value.name else value.model_copy(update={"name": name})

    @field_validator("techniques")
    @classmethod
    def _check_techniques(cls, value: list[str]) -> list[str]:
        names = []
        for name in value:
            expected = f"technique names among {format_choices(tunable())} (those with a search range)"
            try:
                technique = get_technique(name.strip())
            except ConfigError:
                raise ValueError(invalid_argument("techniques", expected, name)) from None
            if technique.name not in tunable():
                raise ValueError(invalid_argument("techniques", expected, name))
            if technique.name in names:
                raise ValueError(invalid_argument("techniques", "each technique once", name))
            names.append(technique.name)
        return names

    @model_validator(mode="after")
    def _check_base(self) -> TuneConfig:
        trial_spec(self, None)  # the baseline spec must be valid
        return self


_TOP = tuple(f for f in TuneConfig.model_fields if f not in ("data", "model", "optimizer", "regularization"))


def load_tune_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None,
                     sets: Sequence[str] = ()) -> TuneConfig:
    """Defaults < the TOML file ``path`` < ``overrides`` < ``sets``.

    ``overrides`` maps top-level fields (``trials``, ``techniques``, ``pruner``, ``seed``, ...) or
    run fields by short or dotted name (``dataset``, ``train_size``, ``lr``, ``model.width``) to
    values (``None``: not given). ``sets`` are ``"field=value"`` strings (``--set``). Unknown
    fields and bad values raise :class:`ConfigError` naming the field.
    """
    from reglab.experiments.config import config_error, parse_assignment, parse_value, read_toml, set_path

    data: dict[str, Any] = dict(read_toml(path)) if path is not None else {}
    if data.get("kind", "tune") != "tune":
        raise ConfigError(invalid_argument("kind", "'tune' for `reglab tune`", data["kind"]))
    items = [(k, v, False) for k, v in (overrides or {}).items() if v is not None]
    for text in sets:
        key, sep, raw = text.partition("=")
        items.append((key.strip(), (text, sep, raw), True))
    for key, value, is_set in items:
        if key in _TOP:
            if is_set:
                text, sep, raw = value
                if not sep:
                    raise ConfigError(invalid_argument("--set", "field=value", text))
                value = parse_value(raw)
                if key == "techniques" and isinstance(value, str):
                    value = [v.strip() for v in raw.split(",")]
            data[key] = value
        elif is_set:
            path_, _, parsed = parse_assignment(value[0], argument="--set", root="spec", many=False)
            set_path(data, path_, parsed)
        else:
            from reglab.experiments.config import resolve_field

            set_path(data, resolve_field(key, root="spec", argument=key), value)
    try:
        return TuneConfig.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, TuneConfig) from None


def trial_spec(config: TuneConfig, params: Mapping[str, Any] | None, *, arm: str = "baseline") -> RunSpec:
    """The run spec of a trial: the base config, every searched technique off, then ``params``
    (technique name -> value) written as study arms write them. ``None``: the baseline."""
    from reglab.experiments.config import validate_spec

    reg = config.regularization.model_dump(mode="json")
    for name in config.techniques:
        t = TECHNIQUES[name]
        if t.field in reg:
            reg[t.field] = t.off
        else:
            reg.get("custom", {}).pop(t.field, None)
    for name, value in (params or {}).items():
        write_arm(reg, TECHNIQUES[name], value)
    return validate_spec({
        "arm": arm, "seed": config.seed, "epochs": config.epochs, "batch_size": config.batch_size,
        "data": config.data.model_dump(mode="json"), "model": config.model.model_dump(mode="json"),
        "optimizer": config.optimizer.model_dump(mode="json"), "regularization": reg,
    })


def make_pruner(name: str, epochs: int) -> Any:
    """The Optuna pruner called ``name`` for trials of ``epochs`` epochs (see the module docstring)."""
    optuna = _optuna()
    if name == "median":
        # Optuna prunes from step n_warmup_steps on; steps are epochs, numbered from 1
        return optuna.pruners.MedianPruner(n_startup_trials=MEDIAN_STARTUP_TRIALS, n_warmup_steps=epochs // 4 + 1)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=max(1, epochs // 9),
                                                      reduction_factor=REDUCTION_FACTOR)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(invalid_argument("pruner", "one of 'median', 'halving', 'none'", name))


class OptunaPruning(Callback):
    """Report a monitored metric to an Optuna trial after every epoch and stop the run when the
    trial's pruner says so (``trainer.request_stop``; ``pruned_epoch`` records when).

    Args:
        trial: an ``optuna.trial.Trial``.
        monitor: a key of the Trainer's epoch logs. Defaults to ``"val_acc"``.
    """

    def __init__(self, trial: Any, monitor: str = "val_acc") -> None:
        self.trial = trial
        self.monitor = monitor
        self.pruned_epoch: int | None = None

    def on_fit_start(self, trainer: Any) -> None:
        self.pruned_epoch = None

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is None or not math.isfinite(value):
            return
        self.trial.report(float(value), epoch)
        if self.trial.should_prune():
            self.pruned_epoch = epoch
            trainer.request_stop(f"Stopped at epoch {epoch}: pruned by Optuna ({self.monitor} = {value:.4g} "
                                 "is worse than the pruner's threshold at this epoch).")


def _suggest(trial: Any, name: str) -> Any:
    space = TECHNIQUES[name].tune
    if space.integer:
        return trial.suggest_int(name, int(space.low), int(space.high), log=space.log)
    return trial.suggest_float(name, space.low, space.high, log=space.log)


def _objective(task: str) -> tuple[str, str]:
    return ("val_acc", "maximize") if task == "classification" else ("val_loss", "minimize")


def evaluate_trial(config_data: dict[str, Any], finished: Sequence[Any], index: int, *, baseline: bool,
                   device: str = "cpu") -> Any:
    """Sample, train and score one trial against the trials ``finished`` so far; return it frozen.

    The trial is asked from an in-memory Optuna study holding ``finished`` (so a Ray worker needs
    no access to the study's SQLite file), with the TPE sampler seeded ``seed * SEED_STRIDE +
    index`` and the config's pruner. The baseline trial samples nothing. The run trains with an
    :class:`OptunaPruning` callback; its value is the validation metric of the weights it ends
    with. Test data is not read.

    Args:
        config_data: ``TuneConfig.model_dump(mode="json")``.
        finished: the study's complete and pruned ``FrozenTrial``s.
        index: the trial's position in the study (seeds its sampling).
        baseline: train the baseline (every searched technique off) instead of sampling.
        device: torch device. Defaults to ``"cpu"``.

    Returns:
        ``optuna.trial.FrozenTrial`` (complete, pruned or failed) with user attributes
        ``baseline``, ``val_acc``, ``val_loss``, ``train_acc``, ``train_loss``, ``epochs`` (trained),
        ``seconds`` and, for a failed trial, ``error``.
    """
    optuna = _optuna()
    from reglab.experiments.execute import final_metrics, load_splits, train

    start = time.perf_counter()
    config = TuneConfig.model_validate(config_data)
    splits = load_splits(config.data)
    monitor, direction = _objective(splits.info.task)
    study = optuna.create_study(
        direction=direction, pruner=make_pruner(config.pruner, config.epochs),
        sampler=optuna.samplers.TPESampler(seed=config.seed * SEED_STRIDE + index),
    )
    study.add_trials(list(finished))
    trial = study.ask()
    trial.set_user_attr("baseline", baseline)
    params = {} if baseline else {name: _suggest(trial, name) for name in config.techniques}
    pruning = OptunaPruning(trial, monitor)
    try:
        model, history, splits = train(trial_spec(config, params, arm="baseline" if baseline else "tuned"),
                                       device=device, progress=False, callbacks=[pruning])
    except Exception as exc:  # noqa: BLE001 - a failed trial is recorded with its reason, the search goes on
        line = (str(exc).strip().splitlines() or [""])[0]
        trial.set_user_attr("error", f"{type(exc).__name__}: {line}".rstrip(": "))
        trial.set_user_attr("seconds", time.perf_counter() - start)
        return study.tell(trial, state=optuna.trial.TrialState.FAIL)
    # the run's one definition of its metrics (regression: MSE on the original scale); only train
    # and validation are recorded: the test score is measured once, for the best setting
    metrics = final_metrics(model, splits, history, device=device)
    for split in ("train", "val"):
        trial.set_user_attr(f"{split}_loss", metrics[f"{split}_loss"])
        trial.set_user_attr(f"{split}_acc", metrics[f"{split}_acc"])
    trial.set_user_attr("epochs", len(history["epoch"]))
    trial.set_user_attr("seconds", time.perf_counter() - start)
    if pruning.pruned_epoch is not None:
        return study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    value = trial.user_attrs[monitor]
    if value is None or not math.isfinite(value):
        trial.set_user_attr("error", f"{monitor} is {value}")
        return study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return study.tell(trial, value)


@dataclass
class TrialRow:
    """One finished trial as the table shows it.

    Attributes:
        number: its number in the Optuna study (0: the first trial, the baseline).
        state: ``"complete"``, ``"pruned"`` or ``"failed"``.
        baseline: every searched technique off.
        params: technique name -> value (empty for the baseline).
        value: the objective (validation accuracy, or loss for regression); for a pruned trial,
            the last value it reported.
        val_acc / val_loss / train_acc / train_loss: metrics of the weights it ended with.
        epochs: epochs trained; seconds: wall time; error: why it failed.
    """

    number: int
    state: str
    baseline: bool
    params: dict[str, Any]
    value: float | None
    val_acc: float | None = None
    val_loss: float | None = None
    train_acc: float | None = None
    train_loss: float | None = None
    epochs: int | None = None
    seconds: float = 0.0
    error: str | None = None

    def setting(self) -> str:
        """``"weight_decay=0.0123, dropout=0.31"``, or ``"baseline"``."""
        if self.baseline:
            return "baseline"
        return ", ".join(f"{k}={_fmt_param(v)}" for k, v in self.params.items())


def _fmt_param(value: Any) -> str:
    return str(value) if isinstance(value, int) else f"{value:.3g}"


def _row(t: Any) -> TrialRow:
    attrs = t.user_attrs
    state = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}.get(t.state.name, t.state.name.lower())
    value = t.value if t.value is not None else (
        t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None)
    return TrialRow(t.number, state, bool(attrs.get("baseline")), dict(t.params), value,
                    attrs.get("val_acc"), attrs.get("val_loss"), attrs.get("train_acc"), attrs.get("train_loss"),
                    attrs.get("epochs"), float(attrs.get("seconds", 0.0)), attrs.get("error"))


@dataclass
class TuneSummary:
    """What a call of :func:`run_tune` did and found.

    Attributes:
        name / out_dir: the study's name and output directory.
        db_path: the Optuna study (``tune.sqlite``); store_path: the run store (``runs.sqlite``).
        metric: ``"val_acc"`` (maximised) or ``"val_loss"`` (minimised).
        techniques: the searched techniques.
        trials: every finished trial of the study, in study order (earlier calls' included).
        skipped: trials finished before this call; ran: trials this call finished; failed: those
            of them that failed.
        best: the best complete trial on validation; baseline: the baseline trial (None if it
            failed).
        final: the ``RunResult.final`` of the best setting trained once more, the only
            measurement of test data (``test_acc``, ``test_loss``, ``val_acc`` ...).
        runner: ``"local"`` or ``"ray"``; markdown_path: ``tune.md``; seconds: this call's wall time.
    """

    name: str
    out_dir: Path
    db_path: Path
    store_path: Path
    metric: str
    techniques: list[str]
    trials: list[TrialRow] = field(default_factory=list)
    skipped: int = 0
    ran: int = 0
    failed: int = 0
    best: TrialRow | None = None
    baseline: TrialRow | None = None
    final: dict[str, Any] | None = None
    runner: str = "local"
    markdown_path: Path | None = None
    seconds: float = 0.0


def _fingerprint(config: TuneConfig) -> dict[str, Any]:
    return {k: v for k, v in config.model_dump(mode="json").items() if k not in _RESUMABLE}


def _open_study(optuna: Any, config: TuneConfig, db_path: Path, direction: str) -> Any:
    storage = f"sqlite:///{db_path.resolve()}"
    study = optuna.create_study(storage=storage, study_name=config.name, direction=direction, load_if_exists=True)
    mine = _fingerprint(config)
    theirs = study.user_attrs.get("config")
    if theirs is None:
        study.set_user_attr("config", mine)
    elif theirs != mine:
        key = next(k for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k))
        raise ConfigError(
            f"Cannot resume the tune study {config.name!r} in {str(db_path)!r}: it was started with "
            f"{key}={json.dumps(theirs.get(key))}, this command has {key}={json.dumps(mine.get(key))}. "
            "Expected the same settings (only trials, runner, workers and ray_address may change); "
            "use another --name or --out to start a new study."
        )
    return study


def _finished(optuna: Any, study: Any) -> list[Any]:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return study.get_trials(deepcopy=False, states=states)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Train single-threaded, like the runners' workers (measured on a shared 2-core machine: a
    15-epoch MNIST-1D MLP run took 8.9 s with torch's 2 threads, 0.39 s with 1); the caller's
    thread count is restored afterwards."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _iter_local(config_data: dict[str, Any], jobs: Iterator[tuple[int, bool]], snapshot: Callable[[], list[Any]],
                device: str) -> Iterator[Any]:
    """Trials one after another in this process."""
    for index, baseline in jobs:
        yield evaluate_trial(config_data, snapshot(), index, baseline=baseline, device=device)


def _ray_trial(config_data: dict[str, Any], finished: list[Any], index: int, baseline: bool, device: str) -> Any:
    """Ray task body: one trial, single-threaded, as a local worker trains a run."""
    import os

    import torch

    torch.set_num_threads(1)
    os.environ["REGLAB_PROGRESS"] = "0"
    return evaluate_trial(config_data, finished, index, baseline=baseline, device=device)


def _iter_ray(config_data: dict[str, Any], jobs: Iterator[tuple[int, bool]], snapshot: Callable[[], list[Any]],
              device: str, in_flight: int) -> Iterator[Any]:
    import ray  # inside ray_session, which says how to install it when missing

    remote = ray.remote(num_cpus=1, max_retries=0)(_ray_trial)
    pending: list[Any] = []
    try:
        while True:
            while len(pending) < in_flight:
                job = next(jobs, None)
                if job is None:
                    break
                pending.append(remote.remote(config_data, snapshot(), job[0], job[1], device))
            if not pending:
                return
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        for ref in pending:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)


def run_tune(config: TuneConfig, *, device: str = "cpu", console: Any = None) -> TuneSummary:
    """Run (or resume) a tuning study until it holds ``config.trials`` finished trials, then train
    the best setting on validation once more and measure its test score.

    Args:
        config: the tuning config.
        device: torch device. Defaults to ``"cpu"``.
        console: a rich console for one line per finished trial (None: silent).

    Returns:
        :class:`TuneSummary`.

    Raises:
        ReglabError: optuna (or, with ``runner="ray"``, ray) is not installed.
        ConfigError: a bad dataset or model option, or a stored study started with other settings.
        StoreError: the output directory is a file.
    """
    from reglab.experiments.execute import load_splits
    from reglab.studies.study import STORE_NAME, check_out_dir, preflight

    start = time.perf_counter()
    optuna = _optuna()
    out_dir = config.out_dir()
    check_out_dir(out_dir)
    preflight([trial_spec(config, None)])
    monitor, direction = _objective(load_splits(config.data).info.task)
    out_dir.mkdir(parents=True, exist_ok=True)
    db_path = out_dir / TUNE_DB
    study = _open_study(optuna, config, db_path, direction)
    summary = TuneSummary(config.name, out_dir, db_path, out_dir / STORE_NAME, monitor, list(config.techniques),
                          runner=config.runner)
    finished = _finished(optuna, study)
    summary.skipped = len(finished)
    todo = max(0, config.trials - len(finished))
    has_baseline = any(t.user_attrs.get("baseline") for t in finished)
    with _one_thread():
        _search(config, study, summary, todo, has_baseline, device, console)
        summary.trials = [_row(t) for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
        summary.baseline = next((r for r in summary.trials if r.baseline and r.state == "complete"), None)
        complete = [t for t in study.get_trials(deepcopy=False) if t.state == optuna.trial.TrialState.COMPLETE]
        if complete:
            summary.best = _row(study.best_trial)
            summary.final = _final_run(config, summary.best, summary.store_path, device)
    summary.markdown_path = out_dir / "tune.md"
    summary.markdown_path.write_text(trials_markdown(summary), encoding="utf-8")
    summary.seconds = time.perf_counter() - start
    return summary


def _search(config: TuneConfig, study: Any, summary: TuneSummary, todo: int, has_baseline: bool, device: str,
            console: Any) -> None:
    """Run ``todo`` more trials (the first one the baseline unless the study has it) and add each
    finished one to ``study``."""
    optuna = _optuna()
    first = len(study.trials)

    def jobs() -> Iterator[tuple[int, bool]]:
        for i in range(todo):
            yield first + i, (i == 0 and not has_baseline)

    config_data = config.model_dump(mode="json")

    def snapshot() -> list[Any]:
        return _finished(optuna, study)

    if todo:
        if config.runner == "ray":
            from reglab.experiments.runners.ray_runner import ray_session

            with ray_session(config.ray_address) as cpus:
                _consume(_iter_ray(config_data, jobs(), snapshot, device, config.workers or cpus),
                         study, summary, console, config.trials)
        else:
            _consume(_iter_local(config_data, jobs(), snapshot, device), study, summary, console, config.trials)


def _consume(trials: Iterator[Any], study: Any, summary: TuneSummary, console: Any, total: int) -> None:
    for frozen in trials:
        study.add_trial(frozen)
        summary.ran += 1
        row = _row(study.trials[-1])
        summary.failed += row.state == "failed"
        if console is not None:
            console.print(_trial_line(row, summary.skipped + summary.ran, total, summary.metric),
                          highlight=False, soft_wrap=True)


def _final_run(config: TuneConfig, best: TrialRow, store_path: Path, device: str) -> dict[str, Any]:
    """Train the best setting once more (same spec and seed as its trial) and measure it on test;
    kept in the run store, and reused while the best setting stays the same."""
    from reglab.experiments.execute import run_one
    from reglab.experiments.store import RunStore
    from reglab.studies.study import diagnose_result

    spec = trial_spec(config, best.params, arm="baseline" if best.baseline else "tuned")
    with RunStore(store_path) as store:
        if config.name in store.study_names() and spec.key() in store.completed_keys(config.name):
            return dict(next(r.final for r in store.runs(config.name) if r.key == spec.key()))
        result = run_one(spec, device=device)
        store.plan_study(config.name, "tune", config.model_dump(mode="json"), [spec], replace=True)
        store.add_result(config.name, result, diagnose_result(result))
    return dict(result.final)


def _metric_text(value: float | None, metric: str) -> str:
    if value is None:
        return "n/a"
    return f"{100 * value:.1f}%" if metric == "val_acc" else f"{value:.4g}"


def _trial_line(row: TrialRow, done: int, total: int, metric: str) -> str:
    from rich.markup import escape

    head = f"[{done}/{total}] trial {row.number} {escape(row.setting())}"
    if row.state == "failed":
        return f"[red]x[/red] {head}  [red]failed: {escape(row.error or '')}[/red]"
    mark = "[yellow]-[/yellow]" if row.state == "pruned" else "[green]v[/green]"
    what = f"pruned at epoch {row.epochs}" if row.state == "pruned" else f"{row.epochs} ep"
    return f"{mark} {head}  {metric.replace('_', ' ')} {_metric_text(row.value, metric)}  {what}  {row.seconds:.1f} s"


def _cells(row: TrialRow, summary: TuneSummary) -> list[str]:
    best = summary.best is not None and row.number == summary.best.number
    values = ["off" if row.baseline else (_fmt_param(row.params[n]) if n in row.params else "") for n in summary.techniques]
    train = row.train_acc if summary.metric == "val_acc" else row.train_loss
    return [f"{row.number}{' *' if best else ''}", row.state, *values, _metric_text(row.value, summary.metric),
            _metric_text(train, summary.metric), str(row.epochs or ""), f"{row.seconds:.1f}"]


def _headers(summary: TuneSummary) -> list[str]:
    train = "train acc" if summary.metric == "val_acc" else "train loss"
    return ["trial", "state", *summary.techniques, summary.metric.replace("_", " "), train, "epochs", "seconds"]


def trials_table(summary: TuneSummary) -> Any:
    """The trials as a rich Table (the best on validation marked ``*``)."""
    from rich.table import Table

    table = Table(title=f"tune {summary.name}: trials (best on validation marked *)")
    for header in _headers(summary):
        table.add_column(header, justify="left" if header in ("state",) else "right")
    for row in summary.trials:
        table.add_row(*_cells(row, summary))
    return table


def best_lines(summary: TuneSummary) -> list[str]:
    """The result in plain sentences: the best setting on validation, the baseline, the test score."""
    if summary.best is None:
        return ["No trial completed, so there is no best setting yet."]
    best, metric = summary.best, summary.metric
    lines = [f"Best on validation: trial {best.number} ({best.setting()}), "
             f"{metric.replace('_', ' ')} {_metric_text(best.value, metric)}."]
    if summary.baseline is not None and not best.baseline:
        lines.append(f"Baseline (trial {summary.baseline.number}, searched techniques off): "
                     f"{metric.replace('_', ' ')} {_metric_text(summary.baseline.value, metric)}.")
    final = summary.final or {}
    if final.get("test_acc") is not None:
        lines.append(f"Test accuracy of the best setting, measured once after the search: {100 * final['test_acc']:.1f}% "
                     f"(test loss {final['test_loss']:.4f}).")
    elif final.get("test_loss") is not None:
        lines.append(f"Test loss of the best setting, measured once after the search: {final['test_loss']:.4g}.")
    return lines


def trials_markdown(summary: TuneSummary) -> str:
    """``tune.md``: the result sentences and the trials table."""
    headers = _headers(summary)
    lines = [f"# Tune {summary.name}", "", *best_lines(summary), "",
             "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cells(row, summary)) + " |" for row in summary.trials]
    return "\n".join(lines) + "\n"

"""The teacher-student study: does distillation make a small network better than training it alone?

Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network", arXiv:1503.02531: a
small "student" trained on a large "teacher"'s temperature-softened probabilities (plus the hard
labels) beats the same student trained on the labels alone (MNIST: 146 test errors alone, 74
distilled, teacher 67). The study trains, for each seed ``s``, these arms (plain run specs, so
they run, store and report like every other study):

==========================  ======================================================================
``teacher``                 the teacher model alone: exactly the run a distilled arm trains as its
                            teacher (``reglab.experiments.execute`` seeds teacher ``i`` of a run with
                            seed ``s`` by ``1000 s + i``), so its stored seed is ``1000 s``
``student``                 the student model from scratch (hard labels), seed ``s``
``distilled``               the same student (same initial weights and batch order), trained with
                            ``DistillationLoss(temperature, alpha)`` on the teacher
``ensemble_distilled``      the student distilled from ``ensemble`` teachers' averaged softened
                            probabilities (seeds ``1000 s + i``), when ``ensemble >= 2``
``self_distilled``          a student of the teacher's architecture distilled from the teacher
                            ("born-again" networks, Furlanello et al. 2018, ICML,
                            arXiv:1805.04770), when ``self_distillation``
==========================  ======================================================================

Effects are paired by seed (the distilled student and the student from scratch of seed ``s`` start
from the same weights): the mean difference of test accuracy with a Student t interval over the
per-seed differences (``reglab.analysis.mean_ci``). ``distilled`` and ``ensemble_distilled`` are
compared with ``student``, ``self_distilled`` with ``teacher``.

Teachers are trained once per process and reused (``execute``'s cache): with one worker (the
default here) a seed's teacher is trained twice (its own arm and the distilled arms' teacher), not
once per distilled arm.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reglab.errors import ConfigError, invalid_argument
from reglab.experiments.spec import DataSpec, DistillationSpec, ModelSpec, OptimizerSpec, RunSpec
from reglab.experiments.config import OutputsMixin, check_study_name

__all__ = [
    "DISTILLATION_ARMS",
    "DistillationStudyConfig",
    "DistillationRow",
    "DistillationSummary",
    "load_distillation_config",
    "plan_distillation",
    "summarize_distillation",
    "run_distillation",
    "distillation_table",
    "distillation_markdown",
]

#: Arms in plan order, and the arm each one is compared with (None: no comparison).
DISTILLATION_ARMS: dict[str, str | None] = {
    "teacher": None,
    "student": None,
    "distilled": "student",
    "ensemble_distilled": "student",
    "self_distilled": "teacher",
}

_ROLE = {
    "teacher": "teacher alone",
    "student": "student from scratch",
    "distilled": "student distilled from the teacher",
    "ensemble_distilled": "student distilled from {k} teachers",
    "self_distilled": "teacher-size student distilled from the teacher",
}

#: Offset between a run's seed and its teachers' seeds (``execute._teachers``: ``1000 s + i``).
TEACHER_SEED_FACTOR = 1000


class DistillationStudyConfig(OutputsMixin, BaseModel):
    """A teacher-student study (TOML for ``reglab distill --config``).

    Defaults: MNIST-1D, teacher MLP 2 x 512 with dropout 0.3, student MLP 2 x 32, AdamW lr 1e-2,
    batch 100, 60 epochs, T = 4 and alpha = 0.9 (Hinton et al. 2015; the ``distillation`` study
    arm's values), an ensemble of 3 teachers, self-distillation on, 3 seeds.

    The teacher is regularized with dropout, as Hinton et al.'s was: an unregularized teacher
    memorises the training set (train 98%), so on the very inputs the student learns from its
    softened outputs are nearly one-hot and carry little beyond the labels. Measured on MNIST-1D
    (``benchmarks/distillation.py``, 60 epochs, T = 4, alpha = 0.9, student 2 x 32): unregularized
    teacher 65.3%, distilled student +0.2 points [95% CI -2.4, +2.8] over the student alone (3
    seeds); dropout-0.3 teacher 67.3%, distilled student +5.1 [+1.1, +9.0] (5 seeds).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = "distillation"
    name: str = "distillation"
    out: str | None = None  # output directory (runs.sqlite, report, distillation.md)
    epochs: int = Field(default=60, ge=1)
    teacher_epochs: int | None = Field(default=None, ge=1)  # None: epochs
    batch_size: int = Field(default=100, ge=1, le=2**31 - 1)
    seeds: int = Field(default=3, ge=1)
    first_seed: int = Field(default=0, ge=0)
    workers: int | None = Field(default=1, ge=1)  # 1: teachers are cached in this process
    data: DataSpec = Field(default_factory=DataSpec)
    teacher: ModelSpec = Field(default_factory=lambda: ModelSpec(name="mlp", options={"width": 512, "dropout": 0.3}))
    student: ModelSpec = Field(default_factory=lambda: ModelSpec(name="mlp", options={"width": 32}))
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    temperature: float = Field(default=4.0, gt=0.0)
    alpha: float = Field(default=0.9, ge=0.0, le=1.0)
    ensemble: int = Field(default=3, ge=0)  # teachers of the ensemble arm; 0: no ensemble arm
    self_distillation: bool = True

    @field_validator("kind")
    @classmethod
    def _check_kind(cls, value: str) -> str:
        if value != "distillation":
            raise ValueError(invalid_argument("kind", "'distillation'", value))
        return value

    @field_validator("ensemble")
    @classmethod
    def _check_ensemble(cls, value: int) -> int:
        if value == 1:
            raise ValueError(invalid_argument("ensemble", "0 (no ensemble arm) or an integer >= 2", value))
        return value

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return check_study_name(value)

    def arms(self) -> list[str]:
        """The arms this config trains, in plan order."""
        arms = ["teacher", "student", "distilled"]
        if self.ensemble >= 2:
            arms.append("ensemble_distilled")
        if self.self_distillation:
            arms.append("self_distilled")
        return arms


def load_distillation_config(path: str | Path | None = None,
                             overrides: Mapping[str, Any] | None = None) -> DistillationStudyConfig:
    """Defaults < the TOML file ``path`` < ``overrides`` (top-level fields; ``None`` values are
    ignored). A section override (``{"teacher": {"options": {"dropout": 0.5}}}``) is merged into
    the file's section, or into the default section when it names no model/dataset of its own.
    Unknown fields and bad values raise :class:`ConfigError` naming the field."""
    from reglab.experiments.config import config_error, read_toml

    data: dict[str, Any] = dict(read_toml(path)) if path is not None else {}
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if (isinstance(value, Mapping) and "name" not in value and key not in data
                and key in DistillationStudyConfig.model_fields):
            default = DistillationStudyConfig.model_fields[key].get_default(call_default_factory=True)
            if isinstance(default, BaseModel):  # a section without a new name: edit its defaults
                data[key] = default.model_dump(mode="json")
        if isinstance(value, Mapping) and isinstance(data.get(key), Mapping):
            merged = dict(data[key])
            for k2, v2 in value.items():
                if isinstance(v2, Mapping) and isinstance(merged.get(k2), Mapping):
                    merged[k2] = {**merged[k2], **v2}
                else:
                    merged[k2] = v2
            data[key] = merged
        else:
            data[key] = value
    try:
        return DistillationStudyConfig.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, DistillationStudyConfig) from None


def _spec(config: DistillationStudyConfig, arm: str, seed: int) -> RunSpec:
    common = dict(batch_size=config.batch_size, data=config.data, optimizer=config.optimizer)
    if arm == "teacher":
        # Exactly the teacher ``execute._teachers`` trains for a run of seed ``seed`` (arm aside).
        return RunSpec(arm=arm, seed=TEACHER_SEED_FACTOR * seed, epochs=config.teacher_epochs or config.epochs,
                       model=config.teacher, **common)
    if arm == "student":
        return RunSpec(arm=arm, seed=seed, epochs=config.epochs, model=config.student, **common)
    teachers = config.ensemble if arm == "ensemble_distilled" else 1
    dist = DistillationSpec(teacher=config.teacher, teachers=teachers, temperature=config.temperature,
                            alpha=config.alpha, teacher_epochs=config.teacher_epochs)
    model = config.teacher if arm == "self_distilled" else config.student
    return RunSpec(arm=arm, seed=seed, epochs=config.epochs, model=model,
                   regularization={"distillation": dist}, **common)


def plan_distillation(config: DistillationStudyConfig) -> list[RunSpec]:
    """The study's run specs: seeds outermost, then :meth:`DistillationStudyConfig.arms` in order."""
    if config.self_distillation and config.teacher == config.student:
        raise ConfigError(invalid_argument(
            "student", "a model other than the teacher (self-distillation already trains a "
            "teacher-size student)", config.student.model_dump(mode="json"),
            shown=f"student={config.student.model_dump(mode='json')} (the teacher's model)"))
    return [_spec(config, arm, seed) for seed in config.seed_list for arm in config.arms()]


@dataclass(frozen=True)
class DistillationRow:
    """One arm of the study across seeds.

    Attributes:
        arm / role: the arm and what it is ("student distilled from the teacher").
        model: the trained model's name and options (``"mlp width=32"``).
        n_params: parameters of that model.
        n: runs; seeds: the student seeds (the teacher arm's are ``seed // 1000``).
        test_acc / test_loss: ``(mean, low, high)`` over seeds (Student t).
        reference: the arm compared with (None for teacher and student).
        effect: paired test-accuracy difference ``(mean, low, high)`` vs ``reference`` over the
            seeds both have (nan bounds with one pair), or None.
        pairs: how many seeds the effect pairs.
    """

    arm: str
    role: str
    model: str
    n_params: int | None
    n: int
    seeds: list[int]
    test_acc: tuple[float, float, float]
    test_loss: tuple[float, float, float]
    reference: str | None
    effect: tuple[float, float, float] | None
    pairs: int = 0


def _model_text(spec: Any) -> str:
    opts = " ".join(f"{k}={v}" for k, v in sorted(spec.model.options.items()))
    return f"{spec.model.name} {opts}".strip()


def _student_seed(spec: Any) -> int:
    return spec.seed // TEACHER_SEED_FACTOR if spec.arm == "teacher" else spec.seed


def summarize_distillation(runs: Iterable[Any], confidence: float = 0.95) -> list[DistillationRow]:
    """Rows for the arms present (in :data:`DISTILLATION_ARMS` order) from completed runs
    (``StoredRun`` or ``RunResult``: anything with ``.spec`` and ``.final``)."""
    from reglab.analysis import mean_ci

    by_arm: dict[str, dict[int, Any]] = {}
    for run in runs:
        if run.spec.arm not in DISTILLATION_ARMS or run.final.get("test_acc") is None:
            continue
        by_arm.setdefault(run.spec.arm, {})[_student_seed(run.spec)] = run
    rows = []
    for arm, ref in DISTILLATION_ARMS.items():
        if arm not in by_arm:
            continue
        seeds = sorted(by_arm[arm])
        arm_runs = [by_arm[arm][s] for s in seeds]
        first = arm_runs[0].spec
        dist = first.regularization.distillation
        role = _ROLE[arm].format(k=dist.teachers if dist is not None else 1)
        effect, pairs = None, 0
        if ref is not None and ref in by_arm:
            # the report's one computation (reglab.analysis.effects.paired_effect): paired by
            # student seed when both arms ran the same seeds, Welch's interval otherwise
            from reglab.analysis.effects import paired_effect

            effect, method, _ = paired_effect(
                {s: by_arm[arm][s].final["test_acc"] for s in seeds},
                {s: r.final["test_acc"] for s, r in by_arm[ref].items()}, confidence)
            pairs = len(seeds) if method == "paired" else 0
        losses = [r.final["test_loss"] for r in arm_runs if r.final.get("test_loss") is not None
                  and math.isfinite(r.final["test_loss"])]
        rows.append(DistillationRow(
            arm=arm, role=role, model=_model_text(first), n_params=arm_runs[0].final.get("n_params"),
            n=len(arm_runs), seeds=seeds,
            test_acc=mean_ci([r.final["test_acc"] for r in arm_runs], confidence),
            test_loss=mean_ci(losses, confidence) if losses else (math.nan, math.nan, math.nan),
            reference=ref if effect is not None else None, effect=effect, pairs=pairs,
        ))
    return rows


def _ci(stat: tuple[float, float, float], scale: float = 100.0, digits: int = 1) -> str:
    m, lo, hi = stat
    if math.isnan(lo):
        return f"{scale * m:.{digits}f}"
    return f"{scale * m:.{digits}f} [{scale * lo:.{digits}f}, {scale * hi:.{digits}f}]"


def _effect(row: DistillationRow) -> str:
    if row.effect is None:
        return ""
    m, lo, hi = row.effect
    if math.isnan(lo):
        return f"{100 * m:+.1f} vs {row.reference}"
    return f"{100 * m:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] vs {row.reference}"


_HEAD = ("arm", "model", "params", "seeds", "test acc % [95% CI]", "test NLL", "paired effect (pts)")


def _cells(row: DistillationRow) -> tuple[str, ...]:
    return (row.arm, row.model, "" if row.n_params is None else f"{row.n_params:,}", str(row.n),
            _ci(row.test_acc), _ci(row.test_loss, 1.0, 3), _effect(row))


def distillation_table(rows: Sequence[DistillationRow], title: str = "Distillation study") -> Any:
    """A rich Table of the rows (what ``reglab distill`` prints)."""
    from rich.table import Table

    table = Table(title=title, caption="Test accuracy: mean and 95% Student t interval over seeds. Effect: "
                  "mean paired difference (same seed) with its 95% interval.")
    for i, head in enumerate(_HEAD):
        table.add_column(head, justify="right" if i in (2, 3) else "left")
    for row in rows:
        table.add_row(*_cells(row))
    return table


def distillation_markdown(rows: Sequence[DistillationRow], title: str = "Distillation study") -> str:
    """The rows as a Markdown document (``distillation.md``)."""
    lines = [f"# {title}", "", "| " + " | ".join(_HEAD) + " |", "|" + "---|" * len(_HEAD)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    lines += ["", "Test accuracy: mean and 95% Student t interval over seeds. Effect: mean paired "
              "difference of test accuracy (same seed, percentage points) with its 95% interval; "
              "distilled students are compared with the student from scratch, the self-distilled "
              "student with the teacher.", ""]
    for r in rows:
        lines.append(f"- **{r.arm}**: {r.role}.")
    return "\n".join(lines) + "\n"


@dataclass
class DistillationSummary:
    """What :func:`run_distillation` did (see ``reglab.studies.study.StudySummary``)."""

    name: str
    out_dir: Path
    store_path: Path
    planned: int
    skipped: int = 0
    completed: int = 0
    failed: list[tuple[str, int, str]] = field(default_factory=list)
    rows: list[DistillationRow] = field(default_factory=list)
    report: Any = None
    markdown_path: Path | None = None
    seconds: float = 0.0


def run_distillation(
    config: DistillationStudyConfig,
    *,
    resume: bool = True,
    workers: int | None = None,
    device: str = "cpu",
    console: Any = None,
    report: bool = True,
) -> DistillationSummary:
    """Run the teacher-student study into ``<out>/runs.sqlite`` (resumable, like ``run_study``),
    then write ``<out>/distillation.md`` and the standard report (baseline: ``student``).

    Args:
        config: the study.
        resume: skip runs already stored (True) or replace the study's runs (False). Defaults to True.
        workers: worker processes. Defaults to ``config.workers`` (1: teachers trained once per
            process are reused).
        device: torch device. Defaults to ``"cpu"``.
        console: a rich Console for the live lines (None: a new one).
        report: write ``report.html``/``report.md`` too. Defaults to True.

    Raises:
        ConfigError: a bad model option or dataset; StoreError: an unusable output directory.
    """
    from rich.console import Console

    from reglab.experiments.bounds import cap_workers
    from reglab.experiments.execute import cached_splits
    from reglab.experiments.lock import store_lock
    from reglab.experiments.runners.local import default_workers, iter_local
    from reglab.experiments.store import RunStore
    from reglab.studies.study import STORE_NAME, check_out_dir, consume_outcomes, preflight

    start = time.perf_counter()
    console = console or Console()
    specs = plan_distillation(config)
    out_dir = config.out_dir()
    check_out_dir(out_dir)
    preflight(specs)
    store_path = out_dir / STORE_NAME
    with store_lock(store_path), RunStore(store_path) as store:
        store.plan_study(config.name, "distillation", config.model_dump(mode="json"), specs, replace=not resume)
        done = store.completed_keys(config.name)
        pending = [s for s in specs if s.key() not in done]
        summary = DistillationSummary(config.name, out_dir, store_path, planned=len(specs),
                                      skipped=len(specs) - len(pending))
        if pending:
            console.print(f"[bold]distillation study {config.name}[/bold]: {len(specs)} runs planned, "
                          f"{summary.skipped} already done, {len(pending)} to train", soft_wrap=True)
            n_workers, warning = cap_workers(workers or config.workers or 1, default_workers())
            if warning:
                console.print(f"[yellow]{warning}[/yellow]", soft_wrap=True)
            outcomes = iter_local(pending, workers=n_workers, device=device,
                                  preload=cached_splits())
            consume_outcomes(outcomes, store, config.name, summary, console, len(specs), progress=False)
        runs = store.runs(config.name)
        summary.rows = summarize_distillation(runs)
        if summary.rows:
            out_dir.mkdir(parents=True, exist_ok=True)
            md = out_dir / "distillation.md"
            md.write_text(distillation_markdown(summary.rows, f"Distillation study: {config.name}"),
                          encoding="utf-8")
            summary.markdown_path = md
        if report and runs:
            from reglab.report import build_report

            summary.report = build_report(store, out_dir, study=config.name, baseline="student")
    summary.seconds = time.perf_counter() - start
    return summary

"""The teacher-student study on a tiny dataset: plan, teacher arm = the distilled arms' teacher,
summary statistics, resume, files, and config errors with full messages."""

from __future__ import annotations

import math

import pytest
from rich.console import Console

from reglab.analysis import mean_ci
from reglab.errors import ConfigError
from reglab.experiments import execute
from reglab.studies.distillation import (
    DistillationStudyConfig,
    load_distillation_config,
    plan_distillation,
    run_distillation,
    summarize_distillation,
)
from reglab.experiments.spec import DistillationSpec, ModelSpec, RunSpec
from reglab.experiments.store import RunStore

TINY = {
    "epochs": 3, "seeds": 2, "ensemble": 2, "batch_size": 50, "temperature": 2.0, "alpha": 0.7,
    "data": {"name": "blobs", "options": {"n_samples": 200}},
    "teacher": {"name": "mlp", "options": {"width": 16}},
    "student": {"name": "mlp", "options": {"width": 4}},
}


def _quiet() -> Console:
    return Console(file=open("/dev/null", "w"))  # noqa: SIM115


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("distill")
    cfg = load_distillation_config(overrides={**TINY, "out": str(out)})
    summary = run_distillation(cfg, console=_quiet())
    return cfg, summary


def test_plan_arms_seeds_and_specs():
    cfg = load_distillation_config(overrides=TINY)
    specs = plan_distillation(cfg)
    assert [(s.arm, s.seed) for s in specs] == [
        ("teacher", 0), ("student", 0), ("distilled", 0), ("ensemble_distilled", 0), ("self_distilled", 0),
        ("teacher", 1000), ("student", 1), ("distilled", 1), ("ensemble_distilled", 1), ("self_distilled", 1)]
    teacher, student = ModelSpec(name="mlp", options={"width": 16}), ModelSpec(name="mlp", options={"width": 4})
    by = {(s.arm, s.seed): s for s in specs}
    assert by[("teacher", 1000)].model == teacher and by[("teacher", 1000)].regularization.distillation is None
    assert by[("student", 1)].model == student and by[("student", 1)].regularization.distillation is None
    assert by[("distilled", 1)].regularization.distillation == DistillationSpec(
        teacher=teacher, teachers=1, temperature=2.0, alpha=0.7)
    assert by[("ensemble_distilled", 1)].regularization.distillation.teachers == 2
    assert by[("self_distilled", 1)].model == teacher
    assert all(s.epochs == 3 and s.batch_size == 50 for s in specs)
    no_extras = load_distillation_config(overrides={**TINY, "ensemble": 0, "self_distillation": False})
    assert no_extras.arms() == ["teacher", "student", "distilled"]


def test_teacher_arm_is_the_teacher_the_students_learned_from(study):
    cfg, summary = study
    runs = RunStore(summary.store_path).runs(cfg.name)
    for seed in cfg.seed_list:
        distilled = next(r for r in runs if r.spec.arm == "distilled" and r.spec.seed == seed)
        tspec = RunSpec(arm="teacher-0", seed=1000 * seed, epochs=3, batch_size=50, data=distilled.spec.data,
                        model=cfg.teacher, optimizer=cfg.optimizer)
        model = execute._TEACHERS[tspec.key()][0]  # what the distilled run trained as its teacher
        splits = execute.load_splits(distilled.spec.data)
        _, acc = execute.evaluate_split(model, splits.x_test, splits.y_test, "classification")
        stored = next(r for r in runs if r.spec.arm == "teacher" and r.spec.seed == 1000 * seed)
        assert stored.final["test_acc"] == acc


def test_summary_rows_are_the_stored_numbers(study):
    cfg, summary = study
    runs = RunStore(summary.store_path).runs(cfg.name)
    assert summary.planned == 10 and summary.completed == 10 and summary.failed == []
    rows = {r.arm: r for r in summary.rows}
    assert list(rows) == ["teacher", "student", "distilled", "ensemble_distilled", "self_distilled"]

    def acc(arm, seed):
        return next(r.final["test_acc"] for r in runs if r.spec.arm == arm and r.spec.seed == seed)

    assert rows["teacher"].seeds == [0, 1] and rows["teacher"].n == 2
    assert rows["student"].test_acc == mean_ci([acc("student", 0), acc("student", 1)])
    assert rows["teacher"].test_acc == mean_ci([acc("teacher", 0), acc("teacher", 1000)])
    assert rows["distilled"].reference == "student" and rows["distilled"].pairs == 2
    assert rows["distilled"].effect == mean_ci([acc("distilled", s) - acc("student", s) for s in (0, 1)])
    assert rows["self_distilled"].effect == mean_ci(
        [acc("self_distilled", 0) - acc("teacher", 0), acc("self_distilled", 1) - acc("teacher", 1000)])
    assert rows["ensemble_distilled"].role == "student distilled from 2 teachers"
    assert rows["teacher"].effect is None and rows["student"].reference is None
    assert rows["student"].n_params == 4 * 2 + 4 + 4 * 4 + 4 + 4 * 3 + 3  # blobs: 2 features, 3 classes
    assert rows["student"].model == "mlp width=4"
    md = summary.markdown_path.read_text()
    assert "| distilled | mlp width=4 | 47 | 2 |" in md
    assert summary.report is not None and summary.report.html_path.exists()


def test_resume_skips_everything(study):
    cfg, _ = study
    again = run_distillation(cfg, console=_quiet(), report=False)
    assert (again.planned, again.skipped, again.completed) == (10, 10, 0)
    assert [r.test_acc for r in again.rows] == [r.test_acc for r in study[1].rows]


def test_summarize_with_one_seed_has_no_interval(study):
    cfg, summary = study
    runs = [r for r in RunStore(summary.store_path).runs(cfg.name) if r.spec.seed in (1, 1000)]
    rows = {r.arm: r for r in summarize_distillation(runs)}
    assert list(rows) == ["teacher", "student", "distilled", "ensemble_distilled", "self_distilled"]
    assert rows["teacher"].seeds == [1]  # stored as seed 1000: the teacher of student seed 1
    mean, low, high = rows["self_distilled"].effect
    assert math.isnan(low) and math.isnan(high) and rows["self_distilled"].pairs == 1
    assert mean == rows["self_distilled"].test_acc[0] - rows["teacher"].test_acc[0]
    alone = summarize_distillation([r for r in runs if r.spec.arm == "distilled"])
    assert [(r.arm, r.effect, r.reference) for r in alone] == [("distilled", None, None)]


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_distillation_config(overrides={"ensemble": 1})
    assert str(exc.value) == ("Invalid value for argument `ensemble`. Expected 0 (no ensemble arm) or an integer "
                              ">= 2. Received: ensemble=1")
    with pytest.raises(ConfigError) as exc:
        load_distillation_config(overrides={"temprature": 2.0})
    assert str(exc.value).startswith("Unknown field `temprature`. Expected one of 'kind', 'name', 'out', 'epochs'")
    with pytest.raises(ConfigError) as exc:
        load_distillation_config(overrides={"alpha": 1.5})
    assert str(exc.value) == "Invalid value for argument `alpha`. Expected a number in [0, 1]. Received: alpha=1.5"
    same = DistillationStudyConfig(student=ModelSpec(name="mlp", options={"width": 512, "dropout": 0.3}))
    with pytest.raises(ConfigError) as exc:
        plan_distillation(same)
    assert str(exc.value) == (
        "Invalid value for argument `student`. Expected a model other than the teacher (self-distillation "
        "already trains a teacher-size student). Received: student={'name': 'mlp', 'options': {'width': 512, "
        "'dropout': 0.3}} "
        "(the teacher's model)")
    toml = tmp_path / "d.toml"
    toml.write_text('name = "d"\nepochs = 2\n[student]\nname = "mlp"\noptions = {width = 8}\n')
    cfg = load_distillation_config(toml, {"epochs": 4, "seeds": None})
    assert (cfg.name, cfg.epochs, cfg.seeds, cfg.student.options) == ("d", 4, 3, {"width": 8})


def test_section_overrides_merge_into_the_defaults():
    cfg = load_distillation_config(overrides={"teacher": {"options": {"dropout": 0.5}}, "data": {"train_size": 500}})
    assert cfg.teacher == ModelSpec(name="mlp", options={"width": 512, "dropout": 0.5})
    assert (cfg.data.name, cfg.data.train_size) == ("mnist1d", 500)
    assert cfg.student == ModelSpec(name="mlp", options={"width": 32})

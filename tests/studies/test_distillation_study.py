"""The teacher-student study as an ordinary study on a tiny dataset: its config and plan (the
teacher and born-again arms set the model), the teacher arm equals a plain run of the teacher spec,
the study's own summary holds the distillation arms' paired effects vs the student baseline,
resume, and config errors with full messages."""

from __future__ import annotations

import statistics

import pytest
from rich.console import Console

from reglab.analysis import summarize_arms
from reglab.errors import ConfigError
from reglab.experiments import execute
from reglab.experiments.config import StudyConfig, load_config
from reglab.experiments.plan import plan
from reglab.experiments.spec import DistillationSpec, ModelSpec, RunSpec
from reglab.experiments.store import RunStore
from reglab.studies.distillation import distillation_arms, distillation_config, run_distillation

TINY = {"epochs": 3, "seeds": 2, "batch_size": 50, "dataset": "blobs", "data.options.n_samples": 200,
        "model.options.width": 4, "runner": "processes"}
TEACHER = ModelSpec(name="mlp", options={"width": 16})
STUDENT = ModelSpec(name="mlp", options={"width": 4})


def _quiet() -> Console:
    return Console(file=open("/dev/null", "w"))  # noqa: SIM115


def _tiny(**options) -> StudyConfig:
    return distillation_config(overrides=TINY, teacher={"name": "mlp", "options": {"width": 16}},
                               temperature=2.0, alpha=0.7, ensemble=2, **options)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("distill")
    cfg = distillation_config(overrides={**TINY, "out": str(out)}, teacher={"name": "mlp", "options": {"width": 16}},
                              temperature=2.0, alpha=0.7, ensemble=2)
    summary = run_distillation(cfg, console=_quiet())
    return cfg, summary


def test_config_is_an_ordinary_study_with_distillation_arms():
    cfg = _tiny()
    assert isinstance(cfg, StudyConfig)
    assert cfg.arms == ["baseline", "teacher", "distillation=2", "ensemble_distillation=2", "born_again=2"]
    assert (cfg.name, cfg.workers, cfg.model) == ("distillation", 1, STUDENT)
    assert cfg.distillation == DistillationSpec(teacher=TEACHER, temperature=2.0, alpha=0.7)
    default = distillation_config()
    assert (default.epochs, default.model, default.distillation) == (60, ModelSpec(name="mlp", options={"width": 32}),
                                                                     DistillationSpec())
    assert default.arms == ["baseline", "teacher", "distillation", "ensemble_distillation", "born_again"]
    assert distillation_arms(3.0, 0, False) == ["baseline", "teacher", "distillation=3"]


def test_plan_sets_the_model_per_arm():
    specs = plan(_tiny())
    assert [(s.arm, s.seed) for s in specs] == [
        (a, s) for s in (0, 1) for a in ("baseline", "teacher", "distillation=2", "ensemble_distillation=2",
                                         "born_again=2")]
    by = {(s.arm, s.seed): s for s in specs}
    assert by[("baseline", 1)].model == STUDENT and by[("baseline", 1)].regularization.distillation is None
    teacher = by[("teacher", 1)]
    assert teacher == RunSpec(arm="teacher", seed=1, epochs=3, batch_size=50, data=teacher.data, model=TEACHER)
    assert by[("distillation=2", 1)].model == STUDENT
    assert by[("distillation=2", 1)].regularization.distillation == DistillationSpec(
        teacher=TEACHER, teachers=1, temperature=2.0, alpha=0.7)
    assert by[("ensemble_distillation=2", 1)].regularization.distillation.teachers == 2
    born = by[("born_again=2", 1)]
    assert born.model == TEACHER
    assert born.regularization.distillation == DistillationSpec(teacher=None, temperature=2.0, alpha=0.7)
    epochs = plan(distillation_config(overrides={**TINY, "seeds": 1}, teacher_epochs=5))
    assert [(s.arm, s.epochs) for s in epochs][:3] == [("baseline", 3), ("teacher", 5), ("distillation", 3)]
    assert epochs[2].regularization.distillation.teacher_epochs == 5


def test_teacher_arm_equals_a_plain_run_of_the_teacher_spec(study):
    cfg, summary = study
    runs = RunStore(summary.store_path).runs(cfg.name)
    stored = next(r for r in runs if r.spec.arm == "teacher" and r.spec.seed == 1)
    plain = execute.run_one(RunSpec(arm="teacher", seed=1, epochs=3, batch_size=50, data=stored.spec.data,
                                    model=TEACHER))
    assert stored.final["test_acc"] == plain.final["test_acc"]
    assert stored.final["val_loss"] == plain.final["val_loss"]
    # the distilled arms' teacher of seed 1: the same plain run with seed 1000, trained once and cached
    tspec = RunSpec(arm="teacher-0", seed=1000, epochs=3, batch_size=50, data=stored.spec.data, model=TEACHER)
    assert tspec.key() in execute._TEACHERS


def test_the_study_summary_holds_the_paired_effects_vs_the_student(study):
    cfg, summary = study
    assert (summary.kind, summary.planned, summary.completed, summary.failed) == ("study", 10, 10, [])
    runs = RunStore(summary.store_path).runs(cfg.name)

    def acc(arm):
        return [r.final["test_acc"] for r in sorted(runs, key=lambda r: r.spec.seed) if r.spec.arm == arm]

    arms = {a.arm: a for a in summary.report.summaries}
    assert list(arms) == ["baseline", "teacher", "distillation=2", "ensemble_distillation=2", "born_again=2"]
    assert arms["baseline"].is_baseline
    ordinary = {a.arm: a for a in summarize_arms(runs)}  # the one computation of every study's effects
    for arm in list(arms)[1:]:
        assert arms[arm].effect == ordinary[arm].effect
        assert arms[arm].effect[0] == pytest.approx(statistics.fmean(acc(arm)) - statistics.fmean(acc("baseline")))
    assert arms["teacher"].setting == "model mlp(width=16)"
    assert arms["born_again=2"].setting == ("model mlp(width=16), "
                                            "distillation(teacher=None, temperature=2, alpha=0.7)")
    md = summary.report.markdown_path.read_text()
    assert "| teacher | model mlp(width=16) | 2 |" in md
    assert summary.report.html_path.exists()


def test_resume_skips_everything(study):
    cfg, _ = study
    again = run_distillation(cfg, console=_quiet(), report=False)
    assert (again.planned, again.skipped, again.completed) == (10, 10, 0)


def test_ordinary_study_arms_keep_their_keys_and_take_the_table():
    """A study without a [distillation] table plans the distillation arms as before; with one,
    every arm of the family starts from it."""
    plain = load_config("study", overrides={"seeds": 1, "arms": ["baseline", "distillation", "teacher"]})
    by = {s.arm: s for s in plan(plain)}
    assert by["distillation"] == RunSpec(arm="distillation", epochs=100,
                                         regularization={"distillation": DistillationSpec()})
    assert by["teacher"].model == DistillationSpec().teacher and by["teacher"].regularization.distillation is None
    with pytest.raises(ConfigError) as exc:
        plan(load_config("study", overrides={"arms": ["baseline", "teacher"]}, sets=["distillation=on"],
                         ).model_copy(update={"distillation": DistillationSpec(teacher=None)}))
    assert str(exc.value) == (
        "Invalid value for argument `distillation.teacher`. Expected a teacher model for the 'teacher' arm (None is "
        "self-distillation, whose teacher is the study's own model: the baseline). Received: "
        "distillation.teacher=None")


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError) as exc:
        distillation_config(ensemble=1)
    assert str(exc.value) == ("Invalid value for argument `ensemble`. Expected 0 (no ensemble arm) or an integer "
                              ">= 2. Received: ensemble=1")
    with pytest.raises(ConfigError) as exc:
        distillation_config(alpha=1.5)
    assert str(exc.value) == ("Invalid value for argument `distillation.alpha`. Expected a number in [0, 1]. "
                              "Received: distillation.alpha=1.5")
    toml = tmp_path / "d.toml"
    toml.write_text('name = "d"\nepochs = 2\n[model]\nname = "mlp"\noptions = {width = 8}\n'
                    '[distillation]\ntemperature = 3.0\n')
    cfg = distillation_config(toml, {"epochs": 4, "lr": 0.005, "optimizer": "sgd"})
    assert (cfg.name, cfg.epochs, cfg.seeds, cfg.model.options) == ("d", 4, 3, {"width": 8})
    assert (cfg.optimizer.name, cfg.optimizer.lr) == ("sgd", 0.005)
    assert cfg.distillation == DistillationSpec(temperature=3.0)
    assert cfg.arms == distillation_arms()  # the file names no arms: the defaults


def test_teacher_options_merge_into_the_configs_teacher():
    cfg = distillation_config(teacher={"options": {"dropout": 0.5}}, overrides={"train_size": 500})
    assert cfg.distillation.teacher == ModelSpec(name="mlp", options={"width": 512, "dropout": 0.5})
    assert (cfg.data.name, cfg.data.train_size) == ("mnist1d", 500)
    assert cfg.model == ModelSpec(name="mlp", options={"width": 32})


def test_a_file_of_the_former_distillation_config_reads_as_the_study_it_means(tmp_path):
    toml = tmp_path / "old.toml"
    toml.write_text('kind = "distillation"\nname = "old"\nepochs = 2\nensemble = 0\ntemperature = 2.0\n'
                    'alpha = 0.5\nteacher_epochs = 4\n[student]\nname = "mlp"\noptions = {width = 8}\n'
                    '[teacher]\nname = "mlp"\noptions = {width = 12}\n')
    cfg = distillation_config(toml, {"seeds": 1}, self_distillation=False)
    assert (cfg.name, cfg.epochs, cfg.seeds, cfg.model) == ("old", 2, 1, ModelSpec(name="mlp", options={"width": 8}))
    assert cfg.distillation == DistillationSpec(teacher=ModelSpec(name="mlp", options={"width": 12}),
                                                temperature=2.0, alpha=0.5, teacher_epochs=4)
    assert cfg.arms == ["baseline", "teacher", "distillation=2"]

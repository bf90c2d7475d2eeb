"""A regression study of a CSV (or a module:loader) with a float target, end to end at the CLI: the task is detected
(or forced with --task on an integer target), the terminal and report.md show RMSE and the early
stopping the runs use (val_loss), `reglab recommend --from-store` gives regression steps,
`reglab uncertainty` re-trains a stored run exactly, and `reglab tune` takes the data flags."""

from __future__ import annotations

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from reglab.cli import app
from reglab.experiments.store import RunStore

runner = CliRunner()
TINY = ["--epochs", "2", "--seeds", "1", "--batch-size", "40", "--runner", "processes", "--workers", "1"]


def _write_csv(path, y):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(len(y), 3))
    path.write_text("a,b,c,y\n" + "".join(f"{r[0]},{r[1]},{r[2]},{t}\n" for r, t in zip(x, y)))
    return x


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("csvreg")
    rng = np.random.default_rng(1)
    y = rng.normal(size=150) * 2.0 + 0.25
    _write_csv(tmp / "f.csv", y)
    out = tmp / "out"
    result = runner.invoke(app, ["study", "--data", str(tmp / "f.csv"), "--target", "y",
                                 "--arms", "baseline,dropout,early_stopping", "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    return out, result.stdout


def test_the_task_is_detected_and_the_report_shows_rmse_and_the_monitor_used(study):
    out, stdout = study
    assert "Data: task: regression, detected from non-integer targets (task='classification' overrides)." in stdout
    with RunStore(out / "runs.sqlite", readonly=True) as store:
        runs = {r.arm: r for r in store.runs("default")}
    base = runs["baseline"].final
    assert f"baseline seed 0  test RMSE {base['test_rmse']:.4g}  train RMSE {base['train_rmse']:.4g}" in stdout
    setting = "early_stopping(monitor=val_loss, mode=min, patience=20)"
    assert re.search(r"early_stopping:?\s+" + re.escape(setting), stdout)
    md = (out / "report.md").read_text()
    assert f"| early_stopping | {setting} | 1 |" in md
    assert "val_acc" not in md


def test_recommend_from_a_regression_store(study):
    out, _ = study
    result = runner.invoke(app, ["recommend", "--from-store", str(out / "runs.sqlite")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "Strategy (regression; fit not observed), in order:" in lines
    steps = sorted(line[3:] for line in lines if re.match(r"\d\. ", line))  # the store's evidence orders them
    assert steps == [
        "dropout: start with dropout=0.05  (study arm: dropout=0.05)",
        "early_stopping: start with early_stopping(monitor=val_loss, patience=16)  (study arm: early_stopping=16)",
        "smaller model: start with width_factor=0.5",
        "weight_decay: start with weight_decay=0.01  (study arm: weight_decay=0.01)",
    ]
    assert ("Not recommended: mixup, CutMix and label smoothing: they act on class labels, and a regression "
            "target has none (a regression study refuses them).") in lines
    assert "mixup=" not in result.stdout and "label_smoothing=" not in result.stdout


def test_uncertainty_on_a_run_of_the_csv_study(study, tmp_path):
    out, _ = study
    result = runner.invoke(app, ["uncertainty", "--store", str(out / "runs.sqlite"), "--arm", "dropout",
                                 "--samples", "10", "--out", str(tmp_path / "u")])
    assert result.exit_code == 0, result.output
    with RunStore(out / "runs.sqlite", readonly=True) as store:
        (run,) = [r for r in store.runs("default") if r.arm == "dropout"]
    rmse = run.final["test_rmse"]
    assert f"Stored test RMSE {rmse:.4g}, re-trained {rmse:.4g}." in result.stdout


def test_task_regression_forced_on_an_integer_target(tmp_path):
    _write_csv(tmp_path / "i.csv", np.arange(120) % 7)
    out = tmp_path / "out"
    result = runner.invoke(app, ["study", "--data", str(tmp_path / "i.csv"), "--target", "y", "--task", "regression",
                                 "--arms", "baseline", "--out", str(out), *TINY])
    assert result.exit_code == 0, result.output
    assert "Data: task: regression (given)." in result.stdout
    with RunStore(out / "runs.sqlite", readonly=True) as store:
        (run,) = store.runs("default")
    assert run.final["num_classes"] == 1 and run.final["test_acc"] is None and run.final["test_rmse"] > 0


def test_tune_takes_the_data_flags(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_csv(tmp_path / "f.csv", np.linspace(0.0, 1.0, 20))
    result = runner.invoke(app, ["tune", "--data", "f.csv", "--target", "y", "--task", "regression",
                                 "--image-size", "16", "--model-output", "logits", "--print-config"])
    assert result.exit_code == 0, result.output
    assert f'[data]\nname = "{tmp_path / "f.csv"}"\n' in result.stdout  # absolute, as a study config's
    assert '[data.options]\ntarget = "y"\nimage_size = 16\ntask = "regression"\n' in result.stdout
    assert '\noutput = "logits"\n' in result.stdout


def test_a_fresh_uncertainty_run_on_a_csv(tmp_path):
    from reglab.experiments.spec import RunSpec
    from reglab.studies.uncertainty_regression import evaluate_regression_uncertainty

    _write_csv(tmp_path / "f.csv", np.random.default_rng(2).normal(size=100))
    result = runner.invoke(app, ["uncertainty", "--data", str(tmp_path / "f.csv"), "--target", "y", "--epochs", "2",
                                 "--samples", "5", "--out", str(tmp_path / "u")])
    assert result.exit_code == 0, result.output
    spec = RunSpec.model_validate({"arm": "dropout=0.2", "seed": 0, "epochs": 2, "regularization": {"dropout": 0.2},
                                   "data": {"name": str(tmp_path / "f.csv"), "options": {"target": "y"}}})
    expected = evaluate_regression_uncertainty(spec, samples=5, seed=0)
    row = next(line for line in result.stdout.splitlines() if line.startswith("│ RMSE"))
    assert [c.strip() for c in row.split("│")[2:4]] == [f"{expected.deterministic.rmse:.3f}", f"{expected.mc.rmse:.3f}"]


def test_all_arms_on_a_regression_leave_out_the_classification_only_ones(tmp_path):
    from reglab.experiments.config import load_config
    from reglab.experiments.plan import plan_study

    _write_csv(tmp_path / "f.csv", np.linspace(0.0, 1.0, 40) ** 2)
    config = load_config("study", overrides={"dataset": str(tmp_path / "f.csv"), "data.options.target": "y",
                                             "arms": ["all"], "seeds": 1})
    assert [s.arm for s in plan_study(config)] == [
        "baseline", "dropout", "weight_decay", "l1", "early_stopping", "input_noise", "max_norm", "stack"]
    # named explicitly, a classification-only arm stays in the plan and is refused before anything trains
    named = load_config("study", overrides={"dataset": str(tmp_path / "f.csv"), "data.options.target": "y",
                                            "arms": ["baseline", "mixup"], "seeds": 1})
    assert [s.arm for s in plan_study(named)] == ["baseline", "mixup"]


def test_a_module_loader_returning_float_targets_runs_a_regression_study(tmp_path, monkeypatch):
    import sys

    name = f"float_loader_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{name}.py").write_text(
        "import numpy as np\n"
        "def load():\n"
        "    rng = np.random.default_rng(4)\n"
        "    x = rng.normal(size=(90, 3)).astype(np.float32)\n"
        "    return x, (x.sum(1) + 0.5).astype(np.float32)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    out = tmp_path / "out"
    try:
        result = runner.invoke(app, ["study", "--data", f"{name}:load", "--arms", "baseline", "--out", str(out), *TINY])
    finally:
        sys.modules.pop(name, None)
    assert result.exit_code == 0, result.output
    assert "Data: task: regression, detected from non-integer targets (task='classification' overrides)." in result.stdout
    with RunStore(out / "runs.sqlite", readonly=True) as store:
        (run,) = store.runs("default")
    assert (run.final["num_classes"], run.final["n_train"], run.final["test_acc"]) == (1, 58, None)
    assert f"baseline seed 0  test RMSE {run.final['test_rmse']:.4g}" in result.stdout

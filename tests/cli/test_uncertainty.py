"""`reglab uncertainty` and `reglab distill` through typer's CliRunner: printed numbers equal the
library's, stored runs are re-trained to the stored numbers, files are written, and bad input
gives one red line and exit code 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from reglab.cli import app
from reglab.experiments.execute import run_one
from reglab.experiments.spec import RunSpec
from reglab.analysis import summarize_arms
from reglab.experiments.store import RunStore
from reglab.report.reliability import uncertainty_rows
from reglab.studies.uncertainty import evaluate_uncertainty
from reglab.report.table import EFFECT


@pytest.fixture
def wide(monkeypatch):
    from reglab.cli.app import console

    monkeypatch.setattr(console, "_width", 160)


def _cells(out: str, first: str) -> list[str]:
    rows = [[c.strip() for c in line.strip("│ ").split("│")] for line in out.splitlines() if line.startswith("│")]
    return next(r for r in rows if r[0] == first)


def _spec(arm: str, dropout: float, seed: int) -> RunSpec:
    return RunSpec.from_dict({"arm": arm, "seed": seed, "epochs": 3, "batch_size": 50,
                              "data": {"name": "blobs", "options": {"n_samples": 300}},
                              "regularization": {"dropout": dropout}})


def test_fresh_run_prints_the_library_numbers(tmp_path, wide):
    args = ["uncertainty", "--dataset", "blobs", "--epochs", "3", "--train-size", "120", "--samples", "5",
            "--top", "3", "--bins", "10", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    spec = RunSpec.from_dict({"arm": "dropout=0.2", "seed": 0, "epochs": 3, "data": {"name": "blobs", "train_size": 120},
                              "model": {"name": "mlp"}, "regularization": {"dropout": 0.2}})
    expected = evaluate_uncertainty(spec, samples=5, n_bins=10, top_k=3)
    for row in uncertainty_rows(expected):
        assert _cells(result.stdout, row[0]) == list(row)
    first = expected.uncertain[0]
    assert _cells(result.stdout, str(first["index"]))[:3] == [str(first["index"]), str(first["label"]),
                                                              str(first["prediction"])]
    assert f"Report: {tmp_path / 'uncertainty.html'}  (1 figures)" in result.stdout
    html = (tmp_path / "uncertainty.html").read_text()
    assert '<figure id="fig-reliability">' in html and "data:image/png;base64," in html
    assert (tmp_path / "figures" / "fig-reliability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| ECE |" in (tmp_path / "uncertainty.md").read_text()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli-unc") / "runs.sqlite"
    results = [run_one(_spec("baseline", 0.0, 0)), run_one(_spec("dropout", 0.3, 0)), run_one(_spec("dropout", 0.3, 1))]
    with RunStore(path) as s:
        s.plan_study("demo", "study", {}, [r.spec for r in results])
        for r in results:
            s.add_result("demo", r, None)
    return path, results


def test_stored_run_is_retrained_to_the_stored_numbers(store, tmp_path, wide):
    path, results = store
    result = CliRunner().invoke(app, ["uncertainty", "--store", str(path), "--seed", "1", "--samples", "4",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    acc = 100 * results[2].final["test_acc"]
    assert "Re-training stored run dropout seed 1 (3 epochs) from its spec: the store keeps no weights." in result.stdout
    assert f"Stored test accuracy {acc:.1f}%, re-trained {acc:.1f}%." in result.stdout
    assert _cells(result.stdout, "accuracy")[1] == f"{acc:.1f}%"
    assert (tmp_path / "uncertainty.md").exists()


def run_error(args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.stderr


def test_errors(store, tmp_path):
    path, _ = store
    missing = tmp_path / "runs.sqlite"
    assert run_error(["uncertainty", "--store", str(missing)]) == (
        f"Error: Run store '{missing}' not found. Expected the runs.sqlite file written by `reglab study` or "
        "`reglab sweep`. Received: a path that does not exist\n")
    assert run_error(["uncertainty", "--store", str(path), "--arm", "baseline"]) == (
        "Error: Run 'baseline' (seed 0) has no dropout layer, so MC dropout has nothing to sample. Expected a "
        "run trained with dropout > 0 (e.g. the study arm 'dropout', or --dropout 0.2 for a fresh run). "
        "Received: regularization.dropout=0.0\n")
    assert run_error(["uncertainty", "--store", str(path), "--samples", "0"]) == (
        "Error: Invalid value for argument `samples`. Expected an integer >= 1. Received: samples=0\n")
    assert run_error(["uncertainty", "--dropout", "1.5"]) == (
        "Error: Invalid value for argument `regularization.dropout`. Expected a number in [0, 1). "
        "Received: regularization.dropout=1.5\n")
    assert run_error(["distill", "--ensemble", "1"]) == (
        "Error: Invalid value for argument `ensemble`. Expected 0 (no ensemble arm) or an integer >= 2. "
        "Received: ensemble=1\n")


def test_distill_tiny_config(tmp_path, wide):
    """`reglab distill` is an ordinary study: the study's lines, its report table with the
    distillation arms and their effect vs the student baseline, its files; the optimizer flags of
    `reglab study` are taken; --print-config writes a study TOML that `reglab study` runs."""
    toml = tmp_path / "d.toml"
    toml.write_text('name = "tiny"\nepochs = 2\nseeds = 2\nbatch_size = 50\n'
                    '[data]\nname = "blobs"\noptions = {n_samples = 150}\n'
                    '[distillation.teacher]\nname = "mlp"\noptions = {width = 12}\n')
    out = tmp_path / "out"
    args = ["distill", "--config", str(toml), "--student-width", "3", "--ensemble", "0", "--no-self",
            "--lr", "0.02", "--optimizer", "adam", "--runner", "processes", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert ("study tiny: 6 runs planned, 0 already done, 6 to train (processes: worker processes were requested "
            "(--runner processes))") in result.stdout
    store = RunStore(out / "runs.sqlite")
    runs = store.runs("tiny")
    assert sorted({(r.spec.arm, r.spec.model.options["width"]) for r in runs}) == [
        ("baseline", 3), ("distillation", 3), ("teacher", 12)]
    assert {(r.spec.optimizer.name, r.spec.optimizer.lr) for r in runs} == {("adam", 0.02)}
    assert _cells(result.stdout, "baseline")[:3] == ["baseline", "none", "2"]
    assert _cells(result.stdout, "teacher")[:3] == ["teacher", "model mlp(width=12)", "2"]
    distilled = _cells(result.stdout, "distillation")
    assert distilled[:3] == ["distillation", "distillation(temperature=4)", "2"]
    summaries = {a.arm: a for a in summarize_arms(runs)}
    mean, low, high = summaries["distillation"].effect
    assert distilled[EFFECT] == f"{100 * mean:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"
    assert f"Report: {out / 'report.html'}" in result.stdout
    assert "| distillation |" in (out / "report.md").read_text()
    printed = CliRunner().invoke(app, ["distill", "--config", str(toml), "--print-config", "--student-width", "3",
                                       "--ensemble", "0", "--no-self", "--out", str(out)])
    assert printed.exit_code == 0 and 'arms = ["baseline", "teacher", "distillation"]' in printed.stdout
    (tmp_path / "study.toml").write_text(printed.stdout)
    again = CliRunner().invoke(app, ["study", "--config", str(tmp_path / "study.toml"), "--lr", "0.02",
                                     "--optimizer", "adam", "--runner", "processes"])
    assert again.exit_code == 0, again.output
    assert "All 6 runs of tiny were already complete." in again.stdout
    printed = CliRunner().invoke(app, ["distill", "--teacher-dropout", "0.5", "--teacher-width", "64", "--print-config"])
    assert "[distillation.teacher.options]\nwidth = 64\ndropout = 0.5\n" in printed.stdout


def test_distill_takes_the_optimizer_options_of_the_study():
    printed = CliRunner().invoke(app, ["distill", "--lr", "0.005", "--optimizer", "sgd", "--lr-schedule", "cosine",
                                       "--warmup-epochs", "3", "--batch-size", "50", "--print-config"])
    assert printed.exit_code == 0, printed.output
    assert "[optimizer]\nname = \"sgd\"\nlr = 0.005\n" in printed.stdout
    assert "schedule = \"cosine\"\nwarmup_epochs = 3\n" in printed.stdout
    assert "\nbatch_size = 50\n" in printed.stdout

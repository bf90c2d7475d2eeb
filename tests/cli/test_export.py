"""`reglab export` through typer's CliRunner."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from reglab.cli import app


@pytest.fixture(scope="module")
def store(tmp_path_factory, scripted):
    path = tmp_path_factory.mktemp("cli-export") / "runs.sqlite"
    runs = [scripted.make_run("baseline", 0, 0.66), scripted.make_run("dropout", 0, 0.70, "good", dropout=0.2)]
    scripted.write_store(path, runs, study="demo")
    return path


def test_export_csv_writes_the_runs_and_prints_one_line(store, tmp_path):
    result = CliRunner().invoke(app, ["export", "--to", "csv", str(store), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Exported 2 runs to csv: {tmp_path}\n"
    runs = list(csv.DictReader(open(tmp_path / "runs.csv")))
    assert [r["run"] for r in runs] == ["demo/baseline/seed0", "demo/dropout/seed0"]


def test_export_errors_are_one_red_line(store, tmp_path):
    result = CliRunner().invoke(app, ["export", "--to", "wandb", str(store)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr == "Error: Invalid value for argument `to`. Expected one of 'mlflow', 'tensorboard', 'csv'. Received: to='wandb'\n"
    missing = tmp_path / "none.sqlite"
    result = CliRunner().invoke(app, ["export", "--to", "csv", str(missing)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: No run store at {str(missing)!r}. Expected the runs.sqlite file of a study or sweep.\n"

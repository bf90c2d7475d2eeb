"""``reglab tune`` through typer's CliRunner: the trials table, the result lines, resume, errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from reglab.cli import app

pytest.importorskip("optuna")

from reglab.experiments.config import to_toml  # noqa: E402
from reglab.studies.tune import load_tune_config  # noqa: E402

runner = CliRunner()
TINY = ["--techniques", "dropout,weight_decay", "--epochs", "3", "--train-size", "200", "--batch-size", "50"]


def _fails(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {message}\n"
    assert "Traceback" not in result.output


def test_tune_prints_the_trials_the_best_on_validation_and_its_test_score_then_resumes(tmp_path):
    args = ["tune", *TINY, "--trials", "3", "--out", str(tmp_path / "t"), "--pruner", "none"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("v [1/3] trial 0 baseline  val acc ")
    assert lines[1].startswith("v [2/3] trial 1 dropout=")
    header = next(line for line in lines if "trial" in line and "state" in line)
    assert header.split("┃")[1:-1] == [" trial ", " state    ", " dropout ", " weight_decay ", " val acc ",
                                       " train acc ", " epochs ", " seconds "]
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    assert [r[:4] for r in rows][0] == ["0", "complete", "off", "off"]
    assert sum(r[0].endswith(" *") for r in rows) == 1
    best = next(r for r in rows if r[0].endswith(" *"))
    assert f"Best on validation: trial {best[0][:-2]} (" in result.stdout
    assert f"val acc {best[4]}." in result.stdout
    assert "Test accuracy of the best setting, measured once after the search: " in result.stdout
    assert f"Study:  {tmp_path / 't' / 'tune.sqlite'}" in result.stdout

    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[0] == "All 3 trials of tune were already finished."
    assert [[c.strip() for c in line.split("│")[1:-1]][:6] for line in again.stdout.splitlines()
            if line.startswith("│")] == [r[:6] for r in rows]


def test_print_config_reads_the_toml_and_the_flags(tmp_path):
    path = tmp_path / "tune.toml"
    path.write_text('name = "wd"\ntechniques = ["weight_decay"]\ntrials = 12\n[data]\ntrain_size = 300\n')
    result = runner.invoke(app, ["tune", "--config", str(path), "--print-config", "--pruner", "halving",
                                 "--seed", "3", "--set", "model.width=64"])
    assert result.exit_code == 0, result.output
    expected = load_tune_config(path, {"pruner": "halving", "seed": 3}, ["model.width=64"])
    assert result.stdout == to_toml(expected)
    lines = result.stdout.splitlines()
    for line in ('name = "wd"', 'techniques = ["weight_decay"]', "trials = 12", 'pruner = "halving"', "seed = 3",
                 "train_size = 300", "width = 64"):
        assert line in lines


def test_bad_options_are_one_red_line():
    _fails(["tune", "--techniques", "dropout,stack"],
           "Invalid value for argument `techniques`. Expected technique names among 'dropout', 'drop_path', "
           "'weight_decay', 'l1', 'l2', 'label_smoothing', 'mixup', 'cutmix', 'input_noise', 'max_norm', "
           "'grad_clip', 'early_stopping', 'distillation' (those with a search range). Received: techniques='stack'")
    _fails(["tune", "--pruner", "hyperband"],
           "Invalid value for argument `pruner`. Expected one of 'median', 'halving', 'none'. Received: pruner='hyperband'")
    _fails(["tune", "--set", "trials=-1"], "Invalid value for argument `trials`. Expected an integer >= 1. Received: trials=-1")

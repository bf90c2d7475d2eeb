"""`reglab recommend` through typer's CliRunner: strategies, --from-store, --emit-config, errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from reglab.cli import app
from reglab.experiments.config import load_config

BASE = ["recommend", "--family", "mlp", "--n-train", "3200", "--classes", "10", "--params", "15210"]


def flat(text: str) -> str:
    return " ".join(text.split())


def ok(args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return flat(result.stdout)


def test_small_data_mlp_overfitting():
    out = ok(BASE + ["--train-acc", "1.0", "--val-acc", "0.66"])
    assert out.startswith(
        "Overfitting (training accuracy 100.0% vs validation 66.0%, a gap of 34.0 points; 15,210 "
        "parameters for 3,200 training examples (4.8 per example)): weight decay 0.01 with AdamW "
        "and early stopping first, then dropout and augmentation while the gap persists. "
        "Strategy for this mlp (overfitting), in order: 1. weight decay (AdamW): start with "
        "weight_decay=0.01 (study arm: weight_decay=0.01) Decoupled weight decay is cheap")
    order = [out.index(f"{i}. {name}") for i, name in enumerate(
        ["weight decay (AdamW)",
         "early stopping: start with early_stopping(monitor=val_acc, patience=20)",
         "dropout: start with dropout=0.2", "data augmentation: start with input_noise=0.1"], 1)]
    assert order == sorted(order)
    assert "Warning" not in out


def test_transformer_and_large_model_warning():
    out = ok(["recommend", "--family", "transformer", "--n-train", "500", "--classes", "10",
              "--params", "2000000"])
    assert ("Warning: The model is far too large for the data: 2,000,000 parameters for 500 "
            "training examples (4,000.0 per example), above 1,000.") in out
    assert "3. label smoothing: start with label_smoothing=0.1" in out


def test_fine_tuning_and_underfitting():
    out = ok(BASE + ["--fine-tuning", "--train-acc", "1.0", "--val-acc", "0.7"])
    assert "1. small learning rate (fine-tuning): start with lr=0.0001 Fine-tuning on small data" in out
    assert "2. weight decay (AdamW): start with weight_decay=0.05" in out
    out = ok(BASE + ["--train-acc", "0.4", "--val-acc", "0.39"])
    assert out.startswith("Underfitting (training accuracy 40.0% vs validation 39.0%")
    assert ("1. reduce regularization: start with weight_decay=0.0001, dropout=0, "
            "label_smoothing=0, mixup_alpha=0, input_noise=0") in out
    assert "2. train longer: start with epochs x2" in out and "3. larger model With 15,210" in out


def test_emit_config_is_loadable_by_study(tmp_path):
    path = tmp_path / "sub" / "study.toml"
    out = ok(BASE + ["--train-acc", "1.0", "--val-acc", "0.66", "--emit-config", str(path),
                     "--seeds", "4", "--epochs", "30"])
    assert (f"Wrote study recommend-mlp (6 arms x 4 seeds) to {path}; run it with: reglab study "
            f"--config {path}") in out
    config = load_config("study", path=path)
    assert config.arms == ["baseline", "weight_decay=0.01", "early_stopping=20", "dropout=0.2",
                           "input_noise=0.1", "stack"]
    assert (config.seeds, config.epochs, config.model.name) == (4, 30, "mlp")


@pytest.fixture(scope="module")
def store(tmp_path_factory, scripted):
    s = scripted
    path = tmp_path_factory.mktemp("cli-recommend") / "runs.sqlite"
    runs = [s.make_run("baseline", seed, 0.66) for seed in range(3)]
    runs += [s.make_run("dropout", seed, 0.7, "good", dropout=0.2) for seed in range(3)]
    runs += [s.make_run("weight_decay", seed, 0.67, weight_decay=0.1) for seed in range(3)]
    s.write_store(path, runs, study="demo")
    return path


def test_from_store_uses_the_baseline_runs(store, tmp_path):
    out = ok(["recommend", "--from-store", str(store), "--emit-config", str(tmp_path / "s.toml")])
    # baseline final accuracies: train 1.000, val 0.580/0.581/0.582 -> mean 58.1%
    assert out.startswith(
        "Overfitting (training accuracy 100.0% vs validation 58.1%, a gap of 41.9 points; 15,210 "
        "parameters for 3,200 training examples (4.8 per example))")
    config = load_config("study", path=tmp_path / "s.toml")
    assert config.epochs == 30 and config.data.name == "mnist1d"  # from the stored spec
    # explicit flags win over the store's facts
    out = ok(["recommend", "--from-store", str(store), "--arm", "dropout", "--params", "2000000",
              "--n-train", "500"])
    assert out.startswith("Good fit (training accuracy 90.0% vs validation 88.1%, a gap of 1.9 "
                          "points): keep light regularization")
    assert ("Warning: The model is far too large for the data: 2,000,000 parameters for 500 "
            "training examples") in out


def run_error(args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    return result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["recommend", "--family", "svm", "--n-train", "10", "--classes", "2", "--params", "5"],
         "Invalid value for argument `family`. Expected one of 'mlp', 'cnn', 'transformer', "
         "'rnn'. Received: family='svm'"),
        (["recommend", "--n-train", "10", "--classes", "2", "--params", "5"],
         "Invalid value for argument `family`. Expected one of 'mlp', 'cnn', 'transformer', "
         "'rnn' (pass --family; required). Received: nothing"),
        (BASE[:-2], "Invalid value for argument `n_params`. Expected an integer >= 1 (pass "
                    "--params; required). Received: nothing"),
        (BASE[:-4] + ["--classes", "1", "--params", "5"],
         "Invalid value for argument `num_classes`. Expected an integer >= 2. Received: "
         "num_classes=1"),
        (BASE + ["--train-acc", "1.5", "--val-acc", "0.5"],
         "Invalid value for argument `train_acc`. Expected a number in [0, 1]. Received: "
         "train_acc=1.5"),
        (BASE + ["--train-acc", "0.9"],
         "Invalid value for argument `val_acc`. Expected a number in [0, 1] (give train_acc and "
         "val_acc together). Received: val_acc=None"),
        (BASE + ["--emit-config", "x.toml", "--seeds", "0"],
         "Invalid value for argument `seeds`. Expected an integer >= 1. Received: seeds=0"),
    ],
)
def test_bad_input_is_one_red_line(args, message):
    assert run_error(args) == f"Error: {message}\n"


def test_bad_store_arguments(store, tmp_path):
    assert run_error(["recommend", "--from-store", str(store), "--arm", "nope"]) == (
        "Error: Invalid value for argument `arm`. Expected one of 'baseline', 'dropout', "
        "'weight_decay'. Received: arm='nope'\n")
    missing = tmp_path / "none.sqlite"
    assert run_error(["recommend", "--from-store", str(missing)]) == (
        f"Error: Run store '{missing}' not found. Expected the runs.sqlite file written by "
        "`reglab study` or `reglab sweep`. Received: a path that does not exist\n")


def test_from_store_raises_what_the_run_already_used(store, tmp_path):
    path = tmp_path / "next.toml"
    out = ok(["recommend", "--from-store", str(store), "--arm", "weight_decay", "--emit-config",
              str(path)])
    assert "Current regularization: weight_decay=0.1." in out
    assert ("1. weight decay (AdamW): start with weight_decay=0.3 (study arm: weight_decay=0.3) "
            "Already at 0.1 and the model still overfits: raise it to 0.3, one step up a log "
            "grid.") in out
    config = load_config("study", path=path)
    assert config.regularization.weight_decay == 0.1  # baseline = the observed setting
    assert config.arms[:2] == ["baseline", "weight_decay=0.3"]

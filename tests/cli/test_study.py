"""``reglab study`` / ``reglab sweep`` through typer's CliRunner: output, exit codes, full messages."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reglab.cli import app
from reglab.experiments.config import load_config, to_toml
from reglab.experiments.store import RunStore
from reglab.techniques import TECHNIQUES

runner = CliRunner()
TINY = ["--epochs", "2", "--seeds", "1", "--train-size", "200", "--batch-size", "50", "--runner", "processes",
        "--workers", "1"]


def _fails(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {message}\n"
    assert "Traceback" not in result.output


def test_print_config_is_the_effective_toml():
    result = runner.invoke(app, ["study", "--print-config", "--epochs", "7", "--arms", "baseline,dropout=0.5",
                                 "--set", "model.width=64", "--dataset", "digits"])
    assert result.exit_code == 0, result.output
    expected = load_config("study", overrides={"epochs": 7, "arms": ["baseline", "dropout=0.5"], "dataset": "digits"},
                           sets=["model.width=64"])
    assert result.stdout == to_toml(expected)
    assert 'arms = ["baseline", "dropout=0.5"]' in result.stdout


def test_sweep_print_config_from_file_and_flags(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('name = "wd"\nepochs = 3\n[grid]\nweight_decay = [0.0, 0.1]\n')
    result = runner.invoke(app, ["sweep", "--config", str(path), "--print-config", "--seeds", "5"])
    assert result.exit_code == 0, result.output
    assert result.stdout == to_toml(load_config("sweep", path=path, overrides={"seeds": 5}))


def test_runner_flags_reach_the_config():
    result = runner.invoke(app, ["sweep", "--grid", "dropout=0,0.5", "--print-config", "--runner", "ray",
                                 "--ray-address", "ray://head:10001", "--masks", "fast"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for line in ('runner = "ray"', 'masks = "fast"', 'ray_address = "ray://head:10001"'):
        assert line in lines
    _fails(["sweep", "--grid", "dropout=0,0.5", "--masks", "approx"],
           "Invalid value for argument `masks`. Expected one of 'exact', 'fast'. Received: masks='approx'")


def test_list_techniques():
    result = runner.invoke(app, ["study", "--list-techniques"])
    assert result.exit_code == 0
    for name in TECHNIQUES:
        assert name in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["study", "--arms", "baseline,dropuot"],
         "Invalid value for argument `arms`. Expected technique names among "
         + ", ".join(repr(t) for t in TECHNIQUES) + " or 'all'. Received: arms='dropuot'"),
        (["study", "--dataset", "mnsit"],
         "Invalid value for argument `data.name`. Expected one of 'mnist1d', 'digits', 'breast_cancer', 'wine', "
         "'diabetes', 'moons', 'circles', 'spirals', 'xor', 'blobs', 'mnist5k', 'boston', 'mnist', 'fashion_mnist', "
         "'cifar10', a name given to reglab.data.register, a path to a .npz, .csv or .parquet file or to an "
         "image folder, or an import string 'package.module:loader'. Received: data.name='mnsit'"),
        (["study", "--model", "mlpp"],
         "Invalid value for argument `model.name`. Expected one of 'mlp', 'cnn1d', 'cnn2d', 'resnet', "
         "'transformer', 'lstm', 'autoencoder', 'linear_head', a registered model or an import string "
         "'package.module:factory'. Received: model.name='mlpp'"),
        (["study", "--epochs", "0"], "Invalid value for argument `epochs`. Expected an integer >= 1. Received: epochs=0"),
        (["study", "--set", "dropout=1.5"],
         "Invalid value for argument `regularization.dropout`. Expected a number in [0, 1). "
         "Received: regularization.dropout=1.5"),
        (["study", "--label-noise", "1.0"],
         "Invalid value for argument `data.label_noise`. Expected a number in [0, 1). Received: data.label_noise=1.0"),
        (["study", "--runner", "fast"],
         "Invalid value for argument `runner`. Expected one of 'auto', 'vectorized', 'processes', 'ray'. "
         "Received: runner='fast'"),
        (["study", "--arms", "drop_path"],
         "Invalid value for argument `arms`. Expected a model with residual blocks ('resnet', 'transformer') "
         "for 'drop_path'. Received: model='mlp'"),
        (["sweep", "--grid", "dropout="],
         "Invalid value for argument `--grid`. Expected field=v1,v2,... with at least one value and no empty "
         "value. Received: --grid='dropout='"),
        (["sweep"],
         "Invalid value for argument `--grid`. Expected at least one --grid field=v1,v2,... (or a [grid] table). "
         "Received: no grid"),
        (["sweep", "--grid", "dropuot=0.1,0.2"],
         "Invalid value for argument `--grid`. Expected a field among 'augment', 'batch_size', 'cutmix_alpha', 'data_seed', "
         "'dataset', 'distillation', 'drop_path', 'dropout', 'early_stopping', 'epochs', 'grad_clip', "
         "'input_noise', 'l1', 'l2', 'label_noise', 'label_smoothing', 'loss', 'lr', 'lr_gamma', 'lr_schedule', 'lr_step_size', 'max_norm', 'mixup_alpha', 'model', "
         "'momentum', 'optimizer', 'train_size', 'val_fraction', 'warmup_epochs', 'weight_decay' or a dotted path such as "
         "'early_stopping.patience' or 'model.options.width'. Received: --grid='dropuot'"),
    ],
)
def test_bad_input_is_one_red_line(args, message):
    _fails(args, message)


def test_unknown_model_option_fails_before_training(tmp_path):
    from reglab.models import build

    with pytest.raises(ValueError) as exc:  # the model layer's own message, shown as is
        build("mlp", (40,), 10, widht=64)
    assert str(exc.value).startswith("Invalid value for argument `widht`. Expected ")
    _fails(["study", *TINY, "--out", str(tmp_path / "o"), "--set", "model.widht=64"], str(exc.value))
    assert not (tmp_path / "o").exists()


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    _fails(["study", *TINY, "--out", str(blocker / "out")],
           f"Cannot create the output directory {str(blocker / 'out')!r}: Not a directory. "
           "Expected a writable directory.")
    _fails(["study", *TINY, "--out", str(blocker)],
           f"Cannot use the output directory {str(blocker)!r}: it is a file. Expected a directory (or a path "
           "that does not exist yet).")


def test_corrupt_and_foreign_store(tmp_path):
    out = tmp_path / "corrupt"
    out.mkdir()
    (out / "runs.sqlite").write_bytes(b"garbage" * 500)
    _fails(["study", *TINY, "--out", str(out)],
           f"The run store {str(out / 'runs.sqlite')!r} is corrupt or not a SQLite file (file is not a database). "
           "Expected a reglab run store; move it away or choose another --out directory.")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    conn = sqlite3.connect(foreign / "runs.sqlite")
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    _fails(["study", *TINY, "--out", str(foreign)],
           f"The file {str(foreign / 'runs.sqlite')!r} is not a reglab run store (SQLite application_id 0x0, "
           "expected 0x52474c42). Move it away or choose another --out directory.")


def test_study_runs_reports_and_resumes(tmp_path):
    out = tmp_path / "o"
    args = ["study", *TINY, "--arms", "baseline,dropout", "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"Report: {out / 'report.html'}" in result.stdout
    assert (out / "report.html").exists() and (out / "report.md").exists()
    assert "[1/2] baseline seed 0" in result.stdout or "[1/2] dropout seed 0" in result.stdout
    with RunStore(out / "runs.sqlite") as store:
        assert store.counts("default") == {"planned": 0, "completed": 2, "diverged": 0, "failed": 0}
    again = runner.invoke(app, [*args, "--quiet"])
    assert again.exit_code == 0, again.output
    assert "All 2 runs of default were already complete." in again.stdout
    # a changed plan is refused with the way out, then accepted with --no-resume
    _fails([*args[:-2], "--out", str(out), "--epochs", "3"],
           f"The run store {str(out / 'runs.sqlite')!r} already holds study 'default' with 2 completed run(s) "
           "that are not in this plan (the config changed). Run with --no-resume to replace them, or choose "
           "another --out directory or --name.")
    replaced = runner.invoke(app, [*args[:-2], "--out", str(out), "--epochs", "3", "--no-resume", "--quiet"])
    assert replaced.exit_code == 0, replaced.output
    with RunStore(out / "runs.sqlite") as store:
        assert [len(r.history["epoch"]) for r in store.runs("default", status=None)] == [3, 3]


def test_ctrl_c_exits_130(monkeypatch, tmp_path):
    import reglab.studies.study as study_mod

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(study_mod, "run_study", interrupted)
    result = runner.invoke(app, ["study", "--out", str(tmp_path / "o")])
    assert result.exit_code == 130
    assert result.stderr == "Error: Interrupted. Completed work is saved; run the same command again to resume.\n"


def test_failed_runs_exit_1(monkeypatch, tmp_path):
    import reglab.experiments.execute as execute

    def broken(spec, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(execute, "run_one", broken)
    result = runner.invoke(app, ["study", *TINY, "--arms", "baseline", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: 1 of 1 runs failed (first: baseline seed 0: RuntimeError: out of memory). Their errors are in "
        "the store; run the same command again to retry them.\n"
    )


def test_sweep_runs_the_grid(tmp_path):
    out = tmp_path / "sw"
    result = runner.invoke(app, ["sweep", "--grid", "dropout=0,0.5", "--grid", "lr=0.01,0.001", *TINY,
                                 "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert f"Report: {out / 'report.html'}" in result.stdout
    with RunStore(out / "runs.sqlite") as store:
        runs = store.runs("sweep")
    assert [(r.arm, r.spec.regularization.dropout, r.spec.optimizer.lr) for r in runs] == [
        ("dropout=0,lr=0.01", 0, 0.01), ("dropout=0,lr=0.001", 0, 0.001),
        ("dropout=0.5,lr=0.01", 0.5, 0.01), ("dropout=0.5,lr=0.001", 0.5, 0.001),
    ]


def test_data_dir_reaches_the_data_layer(tmp_path, monkeypatch):
    from reglab.data import load
    from reglab.errors import DataUnavailableError

    monkeypatch.setenv("REGLAB_DATA_DIR", str(tmp_path / "elsewhere"))  # restored after the test
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataUnavailableError) as exc:
        load("mnist", data_dir=empty)
    _fails(["study", "--dataset", "mnist", "--data-dir", str(empty), "--out", str(tmp_path / "o")], str(exc.value))


def test_lr_schedule_flags_are_toml_keys_and_round_trip(tmp_path):
    result = runner.invoke(app, ["study", "--print-config", "--lr-schedule", "cosine", "--warmup-epochs", "5",
                                 "--lr", "0.005"])
    assert result.exit_code == 0, result.output
    assert '[optimizer]\nname = "adamw"\nlr = 0.005\nmomentum = 0.9\nschedule = "cosine"\nwarmup_epochs = 5\n' in result.stdout
    path = tmp_path / "s.toml"
    path.write_text(result.stdout)
    cfg = load_config("study", path=path)
    assert (cfg.optimizer.schedule, cfg.optimizer.warmup_epochs, cfg.optimizer.lr) == ("cosine", 5, 0.005)
    step = runner.invoke(app, ["sweep", "--grid", "dropout=0,0.5", "--print-config", "--lr-schedule", "step",
                               "--lr-step-size", "20", "--lr-gamma", "0.5"])
    assert 'schedule = "step"\nstep_size = 20\ngamma = 0.5\n' in step.stdout
    _fails(["study", "--lr-schedule", "linear"],
           "Invalid value for argument `optimizer.schedule`. Expected one of 'constant', 'cosine', 'step', "
           "'onecycle'. Received: optimizer.schedule='linear'")

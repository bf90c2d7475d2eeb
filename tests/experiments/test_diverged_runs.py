"""A diverging run is a result (issue 12, item 2): stopped with its reason, stored as ``diverged``,
listed in the report, never retrained; the rest of the study completes."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest
import torch

from reglab.analysis import diagnose
from reglab.studies import study as study_mod
from reglab.experiments.config import load_config
from reglab.experiments.execute import RunResult
from reglab.experiments.spec import RunSpec
from reglab.experiments.store import SCHEMA_VERSION, RunStore
from reglab.training import Trainer
from reglab.training.history import History, diverged_line

REASON = "Stopped at epoch 1: the training loss became nan at batch 2 of 4 (diverged); restored the initial weights."


def _sweep(tmp_path: Path, runner: str):
    return load_config("sweep", overrides={"epochs": 2, "seeds": 1, "train_size": 200, "batch_size": 50,
                                           "runner": runner, "workers": 1, "out": str(tmp_path / "out")},
                       grid=["l2=0,1e300"])


@pytest.mark.parametrize("runner", ["processes", "vectorized"])
def test_diverged_run_is_stored_reported_and_not_retrained(tmp_path, runner):
    config = _sweep(tmp_path, runner)
    summary = study_mod.run_study(config)
    assert (summary.planned, summary.completed, summary.failed) == (2, 2, [])
    assert summary.diverged == [("l2=1e+300", 0, "diverged in epoch 1: the training loss became nan at batch 2 "
                                                 "of 4 (diverged); restored the initial weights.")]
    with RunStore(summary.store_path) as store:
        assert store.counts(config.name) == {"planned": 0, "completed": 1, "diverged": 1, "failed": 0}
        (bad,) = store.runs(config.name, status="diverged")
        assert bad.spec.regularization.l2 == 1e300 and bad.diagnosis is None
        assert bad.history["diverged_epoch"] == 1 and bad.history["stop_reason"] == REASON
        assert bad.history["epoch"] == [] and bad.final["stopped_epoch"] == 1
        assert [r.spec.regularization.l2 for r in store.runs(config.name)] == [0.0]
    line = "- l2=1e+300 seed 0 " + diverged_line(bad.history)
    assert line in summary.report.markdown_path.read_text().splitlines()
    again = study_mod.run_study(config, report=False)
    assert (again.planned, again.skipped, again.completed, again.diverged) == (2, 2, 0, [])


def test_trainer_records_the_diverged_epoch():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    x, y = torch.randn(40, 4), torch.randint(0, 3, (40,))
    batches = [(x[i:i + 10], y[i:i + 10]) for i in range(0, 40, 10)]
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=math.inf), train_loader=batches, epochs=3)
    history = trainer.fit()
    assert history.diverged_epoch == 1 and len(history) == 0
    assert history.stop_reason.startswith("Stopped at epoch 1: the training loss became ")
    assert History.from_dict(history.to_dict()) == history
    healthy = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.01), train_loader=batches, epochs=1).fit()
    assert healthy.diverged_epoch is None


def test_history_without_diverged_epoch_still_loads():
    data = History().to_dict()
    del data["diverged_epoch"]
    assert History.from_dict(data).diverged_epoch is None


def test_diverged_line():
    assert diverged_line({"diverged_epoch": 1, "stop_reason": REASON}) == (
        "diverged in epoch 1: the training loss became nan at batch 2 of 4 (diverged); restored the initial weights.")
    assert diverged_line({"diverged_epoch": 4, "stop_reason": "Other."}) == "diverged in epoch 4: Other."


def test_exploded_finite_loss_is_diagnosed_as_diverged():
    history = {"epoch": [1, 2, 3], "train_loss": [4.7e12, 3.0e12, 1.9e11], "val_loss": [6.1e12, 6.4e11, 1.2e10],
               "train_acc": [0.095, 0.095, 0.1], "val_acc": [0.14, 0.12, 0.11]}
    d = diagnose(history, num_classes=10)
    assert (d.verdict, d.rule) == ("underfitting", "diverged")
    assert d.sentence == ("Underfitting: training diverged (training loss 1.9e+11 in epoch 3, more than 10 times the "
                          "chance level ln 10 = 2.303); lower the learning rate or clip gradients.")
    # at 10x chance exactly, the ordinary rules still decide
    history["train_loss"][-1] = 10 * math.log(10)
    assert diagnose(history, num_classes=10).rule != "diverged"


def _v1_store(path: Path) -> None:
    from reglab.experiments import store as store_mod

    schema = store_mod._SCHEMA.replace("'planned', 'completed', 'diverged', 'failed'", "'planned', 'completed', 'failed'")
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    conn.execute("INSERT INTO studies VALUES ('s', 'study', '{}', 0, 0)")
    spec = RunSpec(arm="old")
    conn.execute("INSERT INTO runs(study, key, arm, seed, position, status, spec) VALUES ('s', ?, 'old', 0, 0, "
                 "'planned', ?)", (spec.key(), spec.model_dump_json()))
    conn.execute(f"PRAGMA application_id={store_mod.APPLICATION_ID}")
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()


def test_version_1_store_is_upgraded_in_place(tmp_path):
    path = tmp_path / "runs.sqlite"
    _v1_store(path)
    spec = RunSpec(arm="new")
    history = {**History().to_dict(), "diverged_epoch": 1, "stop_reason": REASON, "stopped_epoch": 1}
    with RunStore(path) as store:
        store.add_result("s", RunResult(spec, history, {"stopped_epoch": 1}, 0.5))
        assert store.counts("s") == {"planned": 1, "completed": 0, "diverged": 1, "failed": 0}
        assert [r.arm for r in store.runs("s", status=None)] == ["old", "new"]
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


def test_a_study_whose_runs_all_diverged_says_so(tmp_path):
    from reglab.errors import StoreError
    from reglab.report import build_report

    config = load_config("study", overrides={"epochs": 2, "seeds": 1, "train_size": 200, "batch_size": 50,
                                             "arms": ["baseline"], "lr": 1e20, "out": str(tmp_path / "out")})
    summary = study_mod.run_study(config)
    assert summary.report is None and len(summary.diverged) == 1
    with pytest.raises(StoreError) as exc:
        build_report(summary.store_path, tmp_path / "report")
    assert str(exc.value) == (
        f"Run store {str(summary.store_path)!r} holds no completed runs. Expected at least one completed run. "
        "Received: 0 runs, none completed; 1 diverged (first: baseline seed 0 diverged in epoch 1: the training "
        "loss became nan at batch 2 of 4 (diverged); restored the initial weights.)")

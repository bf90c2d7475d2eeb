"""``export_store``: finished runs of a run store to CSV, TensorBoard and MLflow."""

from __future__ import annotations

import csv
import json

import pytest

from reglab.errors import StoreError
from reglab.experiments.execute import RunResult
from reglab.experiments.export import export_store
from reglab.experiments.spec import RegularizationSpec, RunSpec
from reglab.experiments.store import RunStore


def _result(arm: str, seed: int, n: int) -> RunResult:
    spec = RunSpec(arm=arm, seed=seed, epochs=n, regularization=RegularizationSpec(dropout=0.1 if arm != "baseline" else 0.0))
    history = {
        "epoch": list(range(1, n + 1)),
        "train_loss": [1.0 / (e + 1) for e in range(n)], "train_acc": [0.5 + 0.1 * e for e in range(n)],
        "val_loss": [1.2 - 0.1 * e for e in range(n)], "val_acc": [0.4 + 0.1 * e for e in range(n)],
        "gap": [0.2] * n, "lr": [0.01] * n, "grad_norm_mean": [1.5] * n, "grad_norm_max": [3.0] * n,
        "seconds": [0.1] * n, "best_epoch": n, "stopped_epoch": n, "stop_reason": f"Completed all {n} epochs.",
    }
    final = {"test_acc": 0.6 + seed / 100, "val_acc": 0.62, "weight_hist": {"counts": [1, 2]}}
    return RunResult(spec=spec, history=history, final=final, seconds=1.0)


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as rs:
        rs.add_result("s", _result("baseline", 0, 3), {"verdict": "overfitting", "sentence": "Val loss rose.", "gap": 0.2})
        rs.add_result("s", _result("dropout", 1, 2), None)
        rs.add_result("other", _result("baseline", 5, 1), None)
    return path


def test_csv_export_writes_curves_and_one_row_per_run(store, tmp_path):
    result = export_store(store, "csv", tmp_path / "out", study="s")
    assert (result.runs, result.target) == (2, "csv")
    epochs = list(csv.DictReader(open(tmp_path / "out" / "epochs.csv")))
    assert [(r["run"], r["epoch"]) for r in epochs] == [
        ("s/baseline/seed0", "1"), ("s/baseline/seed0", "2"), ("s/baseline/seed0", "3"), ("s/baseline/seed0", "3"),
        ("s/dropout/seed1", "1"), ("s/dropout/seed1", "2"), ("s/dropout/seed1", "2"),
    ]
    assert float(epochs[1]["val_acc"]) == pytest.approx(0.5)
    assert float(epochs[3]["final/test_acc"]) == pytest.approx(0.6)
    runs = list(csv.DictReader(open(tmp_path / "out" / "runs.csv")))
    assert [r["run"] for r in runs] == ["s/baseline/seed0", "s/dropout/seed1"]
    assert runs[0]["stop_reason"] == "Completed all 3 epochs." and runs[0]["diagnosis_verdict"] == "overfitting"
    assert runs[0]["diagnosis_sentence"] == "Val loss rose."
    assert json.loads(runs[0]["diagnosis"]) == {"gap": 0.2, "sentence": "Val loss rose.", "verdict": "overfitting"}
    assert float(runs[1]["final/test_acc"]) == pytest.approx(0.61)


def test_tensorboard_export_has_one_run_folder_with_the_curves(store, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = export_store(store, "tensorboard", tmp_path / "tb")
    assert result.runs == 3
    acc = EventAccumulator(str(tmp_path / "tb" / "s" / "dropout" / "seed1"))
    acc.Reload()
    assert [(e.step, round(e.value, 6)) for e in acc.Scalars("val_acc")] == [(1, 0.4), (2, 0.5)]
    assert [e.step for e in acc.Scalars("final/test_acc")] == [2]


def test_mlflow_export_logs_params_metrics_and_tags(store, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # the file store is quick to open in a test
    from mlflow.tracking import MlflowClient

    uri = f"file://{tmp_path / 'mlruns'}"
    result = export_store(store, "mlflow", tmp_path, study="s", tracking_uri=uri, experiment="exp")
    assert (result.runs, result.where) == (2, uri)
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("exp").experiment_id], order_by=["attributes.run_name"])
    assert [r.info.run_name for r in runs] == ["s/baseline/seed0", "s/dropout/seed1"]
    base = runs[0]
    assert base.data.params["regularization.dropout"] == "0.0" and base.data.params["epochs"] == "3"
    assert base.data.tags["diagnosis_verdict"] == "overfitting"
    history = client.get_metric_history(base.info.run_id, "val_loss")
    assert [(m.step, round(m.value, 6)) for m in history] == [(1, 1.2), (2, 1.1), (3, 1.0)]


def test_a_missing_store_or_study_is_one_clear_error(store, tmp_path):
    with pytest.raises(StoreError) as info:
        export_store(tmp_path / "nope.sqlite", "csv", tmp_path)
    assert str(info.value) == (
        f"No run store at {str(tmp_path / 'nope.sqlite')!r}. Expected the runs.sqlite file of a study or sweep."
    )
    with pytest.raises(StoreError) as info:
        export_store(store, "csv", tmp_path, study="x")
    assert str(info.value) == f"The run store {str(store)!r} has no study 'x'. Expected one of 's', 'other'."
    with pytest.raises(ValueError) as info:
        export_store(store, "wandb", tmp_path)
    assert str(info.value) == (
        "Invalid value for argument `to`. Expected one of 'mlflow', 'tensorboard', 'csv'. Received: to='wandb'"
    )

"""Tracking callbacks on reglab's own Trainer: the logged curves are the History's numbers."""

from __future__ import annotations

import csv

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from reglab.integrations.tracking import CSVLogger, MLflowLogger, TensorBoardLogger, TrackingCallback
from reglab.training import Trainer


def _fit(callback, epochs: int = 3):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 4, generator=g)
    y = (x[:, 0] > 0).long()
    torch.manual_seed(0)
    model = nn.Linear(4, 2)
    loader = DataLoader(TensorDataset(x, y), batch_size=20)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), train_loader=loader, val_loader=loader,
                      epochs=epochs, callbacks=[callback])
    return trainer.fit()


def test_csv_logger_writes_one_row_per_epoch_with_the_history(tmp_path):
    history = _fit(CSVLogger(tmp_path / "log.csv"))
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert [float(r["val_loss"]) for r in rows] == pytest.approx(history.val_loss, rel=1e-12)
    assert list(rows[0]) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr",
                             "grad_norm_mean", "grad_norm_max", "seconds"]


def test_tensorboard_logger_writes_the_scalars_and_the_stop_reason(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    history = _fit(TensorBoardLogger(tmp_path, run_name="r1", params={"lr": 0.1}))
    acc = EventAccumulator(str(tmp_path / "r1"), size_guidance={"tensors": 0})
    acc.Reload()
    assert [e.step for e in acc.Scalars("train_loss")] == [1, 2, 3]
    assert [e.value for e in acc.Scalars("train_loss")] == pytest.approx(history.train_loss, rel=1e-6)
    texts = {t: acc.Tensors(t)[0].tensor_proto.string_val[0].decode() for t in acc.Tags()["tensors"]}
    assert texts["stop_reason/text_summary"] == "Completed all 3 epochs."


def test_mlflow_logger_logs_params_curves_and_tags(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    from mlflow.tracking import MlflowClient

    uri = f"file://{tmp_path}"
    history = _fit(MLflowLogger(uri, experiment="e", run_name="r", params={"optimizer": {"lr": 0.1}}), epochs=2)
    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("e").experiment_id])
    assert run.info.run_name == "r" and run.info.status == "FINISHED"
    assert run.data.params == {"optimizer.lr": "0.1"}
    assert run.data.tags["stop_reason"] == "Completed all 2 epochs."
    curve = client.get_metric_history(run.info.run_id, "val_acc")
    assert [(m.step, m.value) for m in curve] == [(1, history.val_acc[0]), (2, history.val_acc[1])]


def test_a_sink_without_the_methods_is_refused():
    with pytest.raises(ValueError) as info:
        TrackingCallback(object())
    assert str(info.value).startswith(
        "Invalid value for argument `sink`. Expected an object with start, log and finish methods. Received: sink=<object"
    )

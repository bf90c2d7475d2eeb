"""From a script (no CLI): a model registered with ``reglab.models.register`` and arrays registered
with ``reglab.data.register(..., from_arrays(...))`` run a regression study with ``run_study``."""

from __future__ import annotations

import math

import numpy as np
import pytest
from torch import nn

from reglab import data, models
from reglab.experiments.config import load_config
from reglab.experiments.store import RunStore
from reglab.studies.study import run_study


def tiny_regressor(input_shape, num_outputs, width=8):
    return nn.Sequential(nn.Linear(input_shape[0], width), nn.ReLU(), nn.Linear(width, num_outputs))


@pytest.fixture
def registered():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(100, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -1.0, 0.5]) + 0.1 * rng.normal(size=100)).astype(np.float32)
    splits = data.from_arrays(x[:80], y[:80], x_test=x[80:], y_test=y[80:])
    assert (splits.info.task, splits.info.num_classes) == ("regression", 1)
    data.register("script-reg", (x, y))
    models.register("tiny-regressor", tiny_regressor)
    yield
    data.unregister("script-reg")
    models.unregister("tiny-regressor")


def test_a_script_runs_a_regression_study_of_its_registered_model_and_data(registered, tmp_path):
    config = load_config("study", overrides={
        "epochs": 2, "seeds": 1, "batch_size": 20, "runner": "processes", "workers": 1,
        "dataset": "script-reg", "model": "tiny-regressor", "arms": ["baseline", "dropout", "early_stopping"],
        "out": str(tmp_path / "o")})
    summary = run_study(config)
    assert (summary.completed, summary.failed) == (3, [])
    with RunStore(summary.store_path, readonly=True) as store:
        runs = {r.arm: r for r in store.runs(config.name)}
    for run in runs.values():
        assert run.final["test_acc"] is None
        assert run.final["test_rmse"] == pytest.approx(math.sqrt(run.final["test_loss"]), rel=1e-12)
    assert runs["dropout"].final["retrofit"] == [
        "dropout=0.2: the model has no dropout module; inserted reglab.nn.Dropout(0.2) after the 1 activation "
        "feeding a Linear layer: 1."]
    settings = {s.arm: s.setting for s in summary.report.summaries}
    assert settings["early_stopping"] == "early_stopping(monitor=val_loss, mode=min, patience=20)"

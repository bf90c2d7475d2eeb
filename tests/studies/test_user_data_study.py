"""A study on data registered in memory (a notebook's arrays) runs in spawned worker processes and on
Ray workers."""

from __future__ import annotations

import numpy as np
import pytest

from reglab.data import register, unregister
from reglab.studies import study as study_mod
from reglab.experiments.config import load_config
from reglab.experiments.store import RunStore


@pytest.mark.slow  # two spawned workers start torch: ~20 s on 2 shared cores
def test_registered_data_reaches_spawned_workers(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 5)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    register("notebook-set", (x, y))
    try:
        config = load_config("study", overrides={
            "epochs": 2, "seeds": 1, "batch_size": 16, "runner": "processes", "workers": 2,
            "dataset": "notebook-set", "arms": ["baseline", "dropout"], "out": str(tmp_path / "o"),
        })
        summary = study_mod.run_study(config, report=False)
    finally:
        unregister("notebook-set")
    assert (summary.completed, summary.failed) == (2, [])
    with RunStore(summary.store_path) as store:
        runs = store.runs(config.name)
    # 80 rows: test 16 held out, validation 13 of the 64 left, 51 trained on; two classes
    assert sorted((r.arm, r.final["num_classes"], r.final["n_train"]) for r in runs) == [
        ("baseline", 2, 51), ("dropout", 2, 51)]


@pytest.mark.slow  # starts a local Ray instance
@pytest.mark.xdist_group("ray")  # one local Ray instance at a time on this machine
def test_registered_data_reaches_ray_workers(tmp_path):
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 3)).astype(np.float32)
    register("ray-set", (x, x[:, 0] * 2.0 + 0.5))
    try:
        config = load_config("study", overrides={
            "epochs": 2, "seeds": 1, "batch_size": 16, "runner": "ray", "dataset": "ray-set",
            "arms": ["baseline"], "out": str(tmp_path / "o"),
        })
        summary = study_mod.run_study(config, report=False)
    finally:
        unregister("ray-set")
    assert (summary.completed, summary.failed) == (1, [])
    with RunStore(summary.store_path) as store:
        (run,) = store.runs(config.name)
    # 50 rows: test 10, validation 8 of 40, 32 trained on; regression: one output
    assert (run.final["num_classes"], run.final["n_train"]) == (1, 32)

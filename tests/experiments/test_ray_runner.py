"""The Ray runner: a study's jobs as tasks on a (local) Ray cluster, stored like local runs."""

from __future__ import annotations

import os
import sys

import pytest

from reglab.errors import ReglabError
from reglab.studies import study as study_mod
from reglab.experiments.config import load_config
from reglab.experiments.execute import run_one
from reglab.experiments.plan import plan
from reglab.experiments.runners.ray_runner import iter_ray, ray_session
from reglab.experiments.spec import DataSpec, RunSpec
from reglab.experiments.store import RunStore

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.xdist_group("ray")  # one local Ray instance at a time on this machine

TINY = {"epochs": 2, "seeds": 2, "train_size": 200, "batch_size": 50, "runner": "ray"}


def test_study_on_ray_stores_the_plan_with_the_numbers_of_run_one(tmp_path):
    # No Ray running: the study starts a local instance (2 CPUs here) and shuts it down.
    assert not ray.is_initialized()
    config = load_config("study", overrides={**TINY, "out": str(tmp_path / "out"),
                                             "arms": ["baseline", "dropout", "distillation"]})
    summary = study_mod.run_study(config, report=False)
    assert not ray.is_initialized()
    assert summary.runner == "ray"
    assert summary.runner_reason == (
        "Ray tasks: 4 runs batched in 1 model group, 2 single runs (not vectorized: 'distillation': "
        "distillation (teacher 'mlp') is not supported by the vectorized runner)"
    )
    assert (summary.completed, summary.failed) == (6, [])
    with RunStore(summary.store_path) as store:
        runs = store.runs(config.name)
    assert [r.key for r in runs] == [s.key() for s in plan(config)]
    for run in runs:  # the spec is the whole input: a Ray worker gives run_one's numbers
        alone = run_one(run.spec)
        assert run.history["val_loss"] == pytest.approx(alone.history["val_loss"], rel=1e-4)
        assert run.final["test_acc"] == alone.final["test_acc"]


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_a_failing_run_is_reported_and_the_others_complete(local_ray, tmp_path, monkeypatch):
    monkeypatch.delenv("REGLAB_DATA_DIR", raising=False)
    good = RunSpec(arm="baseline", epochs=1, data=DataSpec(name="moons"))
    missing = RunSpec(arm="baseline", epochs=1, data=DataSpec(name="mnist"))  # no files on the workers
    with ray_session() as cpus:
        assert cpus == 2
        outcomes = {o.spec.data.name: o for o in iter_ray([good, missing])}
    assert ray.is_initialized()  # a session that found Ray running leaves it running
    assert outcomes["moons"].ok
    assert outcomes["moons"].result.final["test_acc"] == run_one(good).final["test_acc"]
    assert not outcomes["mnist"].ok
    assert outcomes["mnist"].error.startswith("DataUnavailableError: Dataset 'mnist' is not available")


def test_without_ray_the_runner_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ReglabError) as exc, ray_session():
        pass
    assert str(exc.value) == (
        "The Ray runner needs the ray package, which cannot be imported here (import of ray halted; "
        "None in sys.modules). Install it with: pip install 'reglab[ray]'"
    )


@pytest.mark.slow
def test_a_local_instance_is_bound_to_loopback(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", raising=False)
    before = ray._private.ray_constants.ENABLE_RAY_CLUSTER
    with ray_session():
        assert [node["NodeManagerAddress"] for node in ray.nodes()] == ["127.0.0.1"]
    assert not ray.is_initialized()
    assert ray._private.ray_constants.ENABLE_RAY_CLUSTER == before  # restored
    assert "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER" not in os.environ


def test_loopback_switch_is_restored(monkeypatch):
    from reglab.experiments.runners import ray_runner

    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "1")
    with ray_runner._loopback_only(ray):
        assert os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"
        assert ray._private.ray_constants.ENABLE_RAY_CLUSTER is False
    assert os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "1"
    assert ray._private.ray_constants.ENABLE_RAY_CLUSTER is True

"""run_study: plan -> run -> store -> report; interruption and resume end with exactly the plan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reglab.studies import study as study_mod
from reglab.experiments.config import load_config, to_toml
from reglab.experiments.execute import run_one
from reglab.experiments.plan import plan
from reglab.experiments.runners.local import iter_local
from reglab.experiments.store import RunStore

TINY = {"epochs": 2, "seeds": 2, "train_size": 200, "batch_size": 50, "runner": "processes", "workers": 1}


def _config(tmp_path: Path, **extra):
    overrides = {**TINY, "out": str(tmp_path / "out"), **extra}
    arms = overrides.pop("arms", ["baseline", "dropout", "early_stopping"])
    return load_config("study", overrides={**overrides, "arms": arms})


def _assert_exactly_planned(store_path: Path, config) -> None:
    with RunStore(store_path) as store:
        runs = store.runs(config.name, status=None)
    planned = [s.key() for s in plan(config)]
    assert [r.key for r in runs] == planned  # plan order, each key once
    assert all(r.status == "completed" for r in runs)


def test_study_runs_stores_diagnoses_and_reports(tmp_path):
    config = _config(tmp_path)
    summary = study_mod.run_study(config, report=False)  # the report is tested through the CLI
    assert (summary.planned, summary.skipped, summary.completed, summary.failed) == (6, 0, 6, [])
    assert summary.runner == "processes" and summary.report is None
    _assert_exactly_planned(summary.store_path, config)
    from reglab.analysis import diagnose

    with RunStore(summary.store_path) as store:
        runs = store.runs(config.name)
    for run in runs:
        assert run.diagnosis == diagnose(run.history, run.final, num_classes=10).to_dict()
        assert run.history["epoch"] == [1, 2]
        assert set(run.final) >= {"test_acc", "test_loss", "train_acc", "train_loss", "val_acc", "val_loss",
                                  "best_epoch", "n_params", "num_classes", "n_train", "weight_hist"}
        assert run.final["n_train"] == 200 and run.final["n_params"] == 15210
    # running the same command again trains nothing
    second = study_mod.run_study(config, report=False)
    assert (second.planned, second.skipped, second.completed) == (6, 6, 0)


def test_interrupted_study_resumes_with_exactly_the_plan(tmp_path, monkeypatch):
    config = _config(tmp_path)
    trained: list[str] = []

    def interrupting(specs, **kwargs):
        for i, outcome in enumerate(iter_local(specs, **kwargs)):
            trained.append(outcome.spec.key())
            yield outcome
            if i == 2:  # Ctrl-C after three runs were handed over
                raise KeyboardInterrupt

    monkeypatch.setattr(study_mod, "iter_local", interrupting)
    with pytest.raises(KeyboardInterrupt):
        study_mod.run_study(config, report=False)
    store_path = tmp_path / "out" / "runs.sqlite"
    with RunStore(store_path) as store:
        assert store.counts(config.name) == {"planned": 3, "completed": 3, "diverged": 0, "failed": 0}
    first_three = list(trained)

    def counting(specs, **kwargs):
        for outcome in iter_local(specs, **kwargs):
            trained.append(outcome.spec.key())
            yield outcome

    monkeypatch.setattr(study_mod, "iter_local", counting)
    summary = study_mod.run_study(config, report=False)
    assert (summary.skipped, summary.completed) == (3, 3)
    assert len(trained) == 6 and len(set(trained)) == 6  # no run trained twice
    assert trained[:3] == first_three
    _assert_exactly_planned(store_path, config)


def test_failed_run_is_stored_and_retried(tmp_path, monkeypatch):
    config = _config(tmp_path, seeds=1, arms=["baseline", "dropout"])
    import reglab.experiments.execute as execute

    real = execute.run_one

    def flaky(spec, **kwargs):
        if spec.arm == "dropout":
            raise RuntimeError("simulated failure")
        return real(spec, **kwargs)

    monkeypatch.setattr(execute, "run_one", flaky)
    summary = study_mod.run_study(config, report=False)
    assert summary.failed == [("dropout", 0, "RuntimeError: simulated failure")]
    with RunStore(summary.store_path) as store:
        assert store.counts(config.name) == {"planned": 0, "completed": 1, "diverged": 0, "failed": 1}
        assert store.runs(config.name, status="failed")[0].error == "RuntimeError: simulated failure"
    monkeypatch.setattr(execute, "run_one", real)
    again = study_mod.run_study(config, report=False)
    assert (again.skipped, again.completed, again.failed) == (1, 1, [])
    _assert_exactly_planned(summary.store_path, config)


@pytest.mark.slow
def test_killed_process_resumes_with_exactly_the_plan(tmp_path):
    """SIGKILL the study process after some runs are stored, then resume: exactly the plan."""
    config = _config(tmp_path, epochs=6, seeds=3)
    store_path = tmp_path / "out" / "runs.sqlite"
    toml = tmp_path / "study.toml"
    toml.write_text(to_toml(config))
    script = (
        "import torch; torch.set_num_threads(1)\n"
        "from reglab.experiments.config import load_config\n"
        "from reglab.studies.study import run_study\n"
        f"cfg = load_config('study', path={str(toml)!r})\n"
        "run_study(cfg, report=False)\n"
    )
    env = {**os.environ, "REGLAB_PROGRESS": "0"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    done = 0
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if store_path.exists():
                with RunStore(store_path) as store:
                    done = store.counts(config.name)["completed"]
                if done >= 2:
                    break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    with RunStore(store_path) as store:
        killed_at = store.counts(config.name)["completed"]
    assert 2 <= killed_at < 9
    summary = study_mod.run_study(config, report=False)
    assert summary.skipped == killed_at and summary.completed == 9 - killed_at
    _assert_exactly_planned(store_path, config)


def test_choose_runner_reasons(monkeypatch):
    specs = plan(load_config("study", overrides={"seeds": 1}))
    assert study_mod.choose_runner(specs, "processes") == (
        "processes", "worker processes were requested (--runner processes)")
    assert study_mod.choose_runner(specs, "auto") == ("vectorized", "6 runs batched in 1 model group")
    monkeypatch.setattr(study_mod, "_vectorized_api", lambda: "the vectorized runner is unavailable (test)")
    assert study_mod.choose_runner(specs, "auto") == (
        "processes", "not vectorized: the vectorized runner is unavailable (test)")


def test_split_runner_mixed_arms():
    specs = plan(load_config("study", overrides={"seeds": 2, "arms": ["baseline", "distillation", "dropout"]}))
    name, reason, groups, singles = study_mod.split_runner(specs, "auto")
    assert name == "vectorized+processes"
    assert reason == ("4 runs batched in 1 model group; 2 in worker processes (not vectorized: 'distillation': "
                      "distillation (teacher 'mlp') is not supported by the vectorized runner)")
    assert [(s.arm, s.seed) for g in groups for s in g] == [("baseline", 0), ("dropout", 0), ("baseline", 1),
                                                             ("dropout", 1)]
    assert [(s.arm, s.seed) for s in singles] == [("distillation", 0), ("distillation", 1)]
    from reglab.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        study_mod.split_runner(specs, "vectorized")
    assert str(exc.value) == (
        "Invalid value for argument `runner`. Expected a runner that can train these runs. Received: "
        "runner='vectorized' ('distillation': distillation (teacher 'mlp') is not supported by the vectorized runner)"
    )


def test_vectorized_chunks_balance_workers():
    specs = plan(load_config("study"))  # 18 runs, seeds outermost
    chunks = study_mod.vectorized_chunks(specs, workers=2)
    assert [len(c) for c in chunks] == [9, 9]
    assert [s for c in chunks for s in c] == specs  # contiguous, plan order, nothing lost
    assert [len(c) for c in study_mod.vectorized_chunks(specs, workers=4, max_size=3)] == [3, 3, 3, 3, 3, 3]
    assert [len(c) for c in study_mod.vectorized_chunks(specs, workers=1, max_size=4)] == [4, 4, 4, 3, 3]
    assert study_mod.vectorized_chunks([], workers=2) == []


def test_auto_runner_vectorizes_and_matches_run_one(tmp_path):
    config = _config(tmp_path, runner="auto", seeds=1, arms=["baseline", "dropout", "weight_decay", "mixup", "distillation"])
    summary = study_mod.run_study(config, report=False)
    assert summary.runner == "vectorized+processes"
    assert summary.runner_reason.startswith("4 runs batched in 1 model group; 1 in worker processes")
    _assert_exactly_planned(summary.store_path, config)
    with RunStore(summary.store_path) as store:
        runs = store.runs(config.name)
    for run in runs:
        alone = run_one(run.spec)
        assert run.history["val_loss"] == pytest.approx(alone.history["val_loss"], rel=1e-4)
        assert run.final["test_loss"] == pytest.approx(alone.final["test_loss"], rel=1e-4)


def test_fast_masks_reach_the_vectorized_runs(tmp_path):
    # masks="fast": the dropout runs train with other masks than run_one's (other numbers), the
    # baseline (no dropout, nothing drawn) stays the same run.
    config = _config(tmp_path, runner="vectorized", seeds=1, arms=["baseline", "dropout"], masks="fast")
    summary = study_mod.run_study(config, report=False)
    with RunStore(summary.store_path) as store:
        runs = {r.spec.arm: r for r in store.runs(config.name)}
    for arm, same in (("baseline", True), ("dropout", False)):
        alone = run_one(runs[arm].spec)
        close = runs[arm].final["test_loss"] == pytest.approx(alone.final["test_loss"], rel=1e-4)
        assert close is same, arm


@pytest.mark.slow
def test_unguarded_script_with_worker_processes(tmp_path):
    """Two spawned worker processes, started from a script that calls run_study at top level (no
    __main__ guard): the script must not rerun itself in the workers (it used to kill them, and
    once hung the parent), and the workers' numbers equal this process's."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from reglab.experiments.config import load_config\n"
        "from reglab.studies.study import run_study\n"
        f"cfg = load_config('study', overrides={{'out': {str(tmp_path / 'out')!r}, 'epochs': 1, 'seeds': 1, "
        "'train_size': 100, 'arms': ['baseline', 'dropout'], 'runner': 'processes', 'workers': 2})\n"
        "s = run_study(cfg, report=False)\n"
        "print('done', s.completed, s.failed)\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "REGLAB_PROGRESS": "0"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "done 2 []"
    # numbers trained in a spawned worker are those of the same spec trained here
    with RunStore(tmp_path / "out" / "runs.sqlite") as store:
        runs = store.runs("default")
    for run in runs:
        again = run_one(run.spec)
        assert again.history["val_loss"] == run.history["val_loss"]
        assert again.final["test_acc"] == run.final["test_acc"]


def test_a_changed_plan_under_the_default_name_starts_a_study_beside_the_old_one(tmp_path, monkeypatch):
    """The README's commands one after another in one folder: a different plan under the
    default name and directory goes to default-2 (said in one line), the first plan resumes."""
    from rich.console import Console

    monkeypatch.chdir(tmp_path)
    tiny = {"epochs": 1, "seeds": 1, "train_size": 100, "batch_size": 50, "runner": "processes",
            "workers": 1}
    first = load_config("study", overrides={**tiny, "arms": ["baseline"]})
    changed = load_config("study", overrides={**tiny, "arms": ["dropout"]})
    console = Console(record=True, width=300, color_system=None)
    study_mod.run_study(first, report=False, console=console)
    summary = study_mod.run_study(changed, report=False, console=console)
    assert summary.name == "default-2" and summary.out_dir == Path("reglab-out/default-2")
    assert summary.completed == 1
    lines = [line for line in console.export_text().splitlines() if line.startswith("The plan differs")]
    assert lines == ["The plan differs from the stored study 'default' in reglab-out/default: starting "
                     "study 'default-2' in reglab-out/default-2 beside it (--name chooses one)."]
    again = study_mod.run_study(first, report=False, console=console)  # resumes the old one
    assert (again.name, again.skipped, again.completed) == ("default", 1, 0)
    again = study_mod.run_study(changed, report=False, console=console)  # finds default-2 again
    assert (again.name, again.skipped, again.completed) == ("default-2", 1, 0)
    named = load_config("study", overrides={**tiny, "arms": ["dropout"], "name": "default"})
    with pytest.raises(study_mod.StoreError):  # a name the user chose is never changed
        study_mod.run_study(named, report=False, console=console)


def test_batched_chunks_report_progress_every_epoch_before_their_runs_arrive():
    """The bar of a batched group moves per epoch: iter_local calls on_progress after each epoch
    of the chunk (runs' worth of epochs), and all of it comes before the chunk's outcomes."""
    from reglab.experiments.spec import DataSpec, RunSpec

    chunk = [RunSpec(arm="baseline", seed=s, epochs=3, batch_size=50, data=DataSpec(name="mnist1d", train_size=100))
             for s in range(2)]
    events = []
    for outcome in iter_local([], workers=1, chunks=[chunk],
                              on_progress=lambda job, runs: events.append((job, runs))):
        events.append(("outcome", outcome.spec.seed))
    assert events == [(0, pytest.approx(2 / 3)), (0, pytest.approx(4 / 3)), (0, pytest.approx(2.0)),
                      ("outcome", 0), ("outcome", 1)]


def test_live_progress_counts_partial_chunks_and_never_moves_back():
    live = study_mod.LiveProgress()
    live.chunks = [["a", "b", "c"], ["d"]]
    moves = []
    live.on_change = lambda: moves.append(live.position(0))
    live.chunk_progress(0, 1.5)
    live.chunk_progress(1, 0.5)
    live.chunk_progress(0, 3.0)
    assert moves == [1.5, 2.0, 3.5]
    positions = []
    for done, key in enumerate(["a", "b", "c"], start=1):  # the chunk's runs arrive one by one
        live.finished(key)
        positions.append(live.position(done))
    assert positions == [3.5, 3.5, 3.5]

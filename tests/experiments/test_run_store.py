"""The SQLite run store: round trip, plan bookkeeping, resume keys, foreign/corrupt files."""

from __future__ import annotations

import math
import os
import sqlite3

import pytest

from reglab.errors import StoreError
from reglab.experiments.execute import RunResult
from reglab.experiments.spec import RegularizationSpec, RunSpec
from reglab.experiments.store import APPLICATION_ID, SCHEMA_VERSION, RunStore


def _history(n: int, offset: float = 0.0) -> dict:
    return {
        "epoch": list(range(1, n + 1)),
        "train_loss": [1.0 / (e + offset + 1) for e in range(n)],
        "train_acc": [0.5 + 0.01 * e for e in range(n)],
        "val_loss": [1.2 - 0.01 * e for e in range(n)],
        "val_acc": [0.4 + 0.01 * e for e in range(n)],
        "lr": [0.01] * n,
        "grad_norm_mean": [1.5] * n,
        "grad_norm_max": [3.0] * n,
        "seconds": [0.1] * n,
        "best_epoch": n,
        "stopped_epoch": n,
        "stop_reason": "Completed all epochs.",
    }


def _result(arm: str = "baseline", seed: int = 0, n: int = 3) -> RunResult:
    spec = RunSpec(arm=arm, seed=seed, epochs=n, regularization=RegularizationSpec(dropout=0.1 if arm != "baseline" else 0.0))
    final = {"test_acc": 0.6 + seed / 100, "test_loss": 1.1, "train_acc": 0.9, "train_loss": 0.3,
             "val_acc": 0.62, "val_loss": 1.0, "best_epoch": n, "weight_hist": {"counts": [1, 2]}}
    return RunResult(spec=spec, history=_history(n), final=final, seconds=1.25)


def test_round_trip(tmp_path):
    path = tmp_path / "out" / "runs.sqlite"
    with RunStore(path) as store:
        r0, r1 = _result("baseline", 0), _result("dropout", 1, n=4)
        store.add_result("s", r0, {"verdict": "overfitting"})
        store.add_result("s", r1, None)
    with RunStore(path) as store:
        runs = store.runs("s")
        assert [(r.arm, r.seed, r.status) for r in runs] == [("baseline", 0, "completed"), ("dropout", 1, "completed")]
        assert runs[0].spec == r0.spec and runs[0].key == r0.spec.key()
        assert runs[0].history == r0.history
        assert runs[1].history == r1.history
        assert runs[0].final == r0.final
        assert runs[0].diagnosis == {"verdict": "overfitting"} and runs[1].diagnosis is None
        assert runs[0].seconds == 1.25
        rows = store.epochs("s", r1.spec.key())
        assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
        assert rows[2]["val_acc"] == pytest.approx(0.42)
        assert store.completed_keys("s") == {r0.spec.key(), r1.spec.key()}
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT COUNT(*) FROM epochs").fetchone()[0] == 7
    conn.close()


def test_nan_survives_in_history(tmp_path):
    r = _result()
    r.history["val_loss"][1] = math.nan
    with RunStore(tmp_path / "runs.sqlite") as store:
        store.add_result("s", r)
        got = store.runs("s")[0].history["val_loss"]
    assert math.isnan(got[1]) and got[0] == r.history["val_loss"][0]


def test_plan_then_results_then_resume_keys(tmp_path):
    specs = [RunSpec(arm=a, seed=s) for s in (0, 1) for a in ("baseline", "dropout")]
    with RunStore(tmp_path / "runs.sqlite") as store:
        keys = store.plan_study("s", "study", {"x": 1}, specs)
        assert keys == [s.key() for s in specs]
        assert store.counts("s") == {"planned": 4, "completed": 0, "diverged": 0, "failed": 0}
        store.add_result("s", RunResult(specs[2], _history(2), {"test_acc": 0.5}, 0.1))
        store.add_failure("s", specs[3], "RuntimeError: boom")
        assert store.counts("s") == {"planned": 2, "completed": 1, "diverged": 0, "failed": 1}
        assert store.completed_keys("s") == {specs[2].key()}
        assert [r.status for r in store.runs("s", status=None)] == ["planned", "planned", "completed", "failed"]
        assert store.runs("s", status="failed")[0].error == "RuntimeError: boom"
        # the same result stored twice replaces, never duplicates
        store.add_result("s", RunResult(specs[2], _history(2), {"test_acc": 0.7}, 0.1))
        assert [r.final["test_acc"] for r in store.runs("s")] == [0.7]
        # planning again (resume) keeps the completed run and its position
        store.plan_study("s", "study", {"x": 1}, specs)
        assert [r.status for r in store.runs("s", status=None)] == ["planned", "planned", "completed", "failed"]
        assert store.studies()[0]["name"] == "s" and store.studies()[0]["completed"] == 1


def test_changed_plan_is_refused_unless_replaced(tmp_path):
    old = [RunSpec(arm="baseline", epochs=5)]
    new = [RunSpec(arm="baseline", epochs=6)]
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        store.plan_study("s", "study", {}, old)
        store.add_result("s", RunResult(old[0], _history(5), {"test_acc": 0.5}, 0.1))
        with pytest.raises(StoreError) as exc:
            store.plan_study("s", "study", {}, new)
        assert str(exc.value) == (
            f"The run store {str(path)!r} already holds study 's' with 1 completed run(s) that are not in this "
            "plan (the config changed). Run with --no-resume to replace them, or choose another --out "
            "directory or --name."
        )
        assert store.counts("s")["completed"] == 1  # the refused plan changed nothing
        store.plan_study("s", "study", {}, new, replace=True)
        assert store.counts("s") == {"planned": 1, "completed": 0, "diverged": 0, "failed": 0}
        # a superset of the completed runs (more seeds) is accepted as is
        store.add_result("s", RunResult(new[0], _history(6), {"test_acc": 0.5}, 0.1))
        store.plan_study("s", "study", {}, new + [RunSpec(arm="baseline", epochs=6, seed=1)])
        assert store.counts("s") == {"planned": 1, "completed": 1, "diverged": 0, "failed": 0}


def test_foreign_sqlite_file(tmp_path):
    path = tmp_path / "runs.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError) as exc:
        RunStore(path)
    assert str(exc.value) == (
        f"The file {str(path)!r} is not a reglab run store (SQLite application_id 0x0, expected 0x52474c42). "
        "Move it away or choose another --out directory."
    )


def test_corrupt_file(tmp_path):
    path = tmp_path / "runs.sqlite"
    path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError) as exc:
        RunStore(path)
    assert str(exc.value) == (
        f"The run store {str(path)!r} is corrupt or not a SQLite file (file is not a database). "
        "Expected a reglab run store; move it away or choose another --out directory."
    )


def test_newer_schema_refused(tmp_path):
    path = tmp_path / "runs.sqlite"
    RunStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError) as exc:
        RunStore(path)
    assert str(exc.value) == (
        f"The run store {str(path)!r} has schema version {SCHEMA_VERSION + 1}; this reglab reads version "
        f"{SCHEMA_VERSION}. Upgrade reglab or choose another --out directory."
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(StoreError) as exc:
            RunStore(locked / "sub" / "runs.sqlite")
        assert str(exc.value) == (
            f"Cannot create the output directory {str(locked / 'sub')!r}: Permission denied. "
            "Expected a writable directory."
        )
        with pytest.raises(StoreError) as exc:
            RunStore(locked / "runs.sqlite")
        assert str(exc.value) == (
            f"Cannot use the run store {str(locked / 'runs.sqlite')!r}: unable to open database file. "
            "Expected a writable reglab run store."
        )
    finally:
        locked.chmod(0o700)


def test_output_directory_under_a_file(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(StoreError) as exc:
        RunStore(blocker / "out" / "runs.sqlite")
    assert str(exc.value) == (
        f"Cannot create the output directory {str(blocker / 'out')!r}: Not a directory. "
        "Expected a writable directory."
    )


def test_epoch_columns_are_the_history_metrics_after_epoch():
    # The store keeps its own copy so that importing it (and the CLI) does not import torch through
    # reglab.training; this pins the copy to History's per-epoch series.
    from reglab.experiments.store import EPOCH_COLUMNS
    from reglab.training.history import METRICS

    assert METRICS[0] == "epoch"
    assert EPOCH_COLUMNS == METRICS[1:]

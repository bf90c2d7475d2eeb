"""Read-only stores (issue 12, item 5): report/recommend/uncertainty read a store without writing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reglab.cli import app
from reglab.errors import StoreError
from reglab.experiments.execute import RunResult
from reglab.experiments.spec import RunSpec
from reglab.experiments.store import RunStore
from reglab.training.history import History


def _history(acc: float) -> dict:
    return History(epoch=[1, 2], train_loss=[1.0, 0.8], train_acc=[0.5, acc], val_loss=[1.1, 0.9],
                   val_acc=[0.45, acc - 0.05], lr=[0.01, 0.01], grad_norm_mean=[1.0, 1.0],
                   grad_norm_max=[1.0, 1.0], seconds=[0.1, 0.1], best_epoch=2, stopped_epoch=2,
                   stop_reason="Completed all 2 epochs.").to_dict()


def _store(directory: Path) -> Path:
    path = directory / "runs.sqlite"
    final = {"test_acc": 0.6, "train_acc": 0.7, "val_acc": 0.6, "test_loss": 1.0, "train_loss": 0.8,
             "val_loss": 0.9, "num_classes": 10, "n_train": 100, "n_params": 10}
    with RunStore(path) as store:
        for seed in (0, 1):
            store.add_result("s", RunResult(RunSpec(seed=seed), _history(0.7), final, 1.0))
    return path


def _snapshot(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_readonly_open_reads_and_never_writes(tmp_path):
    path = _store(tmp_path)
    before = _snapshot(tmp_path)
    with RunStore(path, readonly=True) as store:
        assert [r.seed for r in store.runs("s")] == [0, 1]
        assert store.counts("s") == {"planned": 0, "completed": 2, "diverged": 0, "failed": 0}
        with pytest.raises(StoreError) as exc:
            store.add_failure("s", RunSpec(seed=5), "x")
        assert str(exc.value) == (f"Cannot write to the run store {str(path)!r}: attempt to write a readonly "
                                  "database. Expected a writable file.")
    assert _snapshot(tmp_path) == before  # no byte written, no -wal/-shm left behind


def test_unwritable_directory_uses_immutable(tmp_path, monkeypatch):
    path = _store(tmp_path)
    path.with_name("runs.sqlite-wal").write_bytes(b"")  # as if a writer were active...
    before = _snapshot(tmp_path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path else real_access(p, mode))
    seen = []
    real_connect = __import__("sqlite3").connect

    def connect(database, *args, **kwargs):
        seen.append(database)
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr("sqlite3.connect", connect)
    with RunStore(path, readonly=True) as store:
        assert len(store.runs("s")) == 2
    assert seen == [f"{path.resolve().as_uri()}?immutable=1"]  # ...but nothing can be created here
    assert _snapshot(tmp_path) == before


def test_active_writer_is_read_through_its_wal(tmp_path):
    path = _store(tmp_path)
    writer = RunStore(path)  # an open study: its -wal exists
    try:
        writer.add_failure("s", RunSpec(seed=7), "boom")  # committed to the WAL only
        with RunStore(path, readonly=True) as store:
            assert store.counts("s") == {"planned": 0, "completed": 2, "diverged": 0, "failed": 1}
    finally:
        writer.close()


def test_missing_store_is_not_created(tmp_path):
    with pytest.raises(StoreError) as exc:
        RunStore(tmp_path / "none.sqlite", readonly=True)
    assert str(exc.value) == (f"Run store {str(tmp_path / 'none.sqlite')!r} not found. Expected the runs.sqlite "
                              "file written by `reglab study` or `reglab sweep`.")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions (the immutable path is "
                                               "tested above through a patched os.access)")
def test_report_reads_a_store_in_a_read_only_directory(tmp_path):
    directory = tmp_path / "ro"
    directory.mkdir()
    path = _store(directory)
    directory.chmod(0o555)
    try:
        result = CliRunner().invoke(app, ["report", "--store", str(path), "--out", str(tmp_path / "report")])
        assert result.exit_code == 0, result.output
    finally:
        directory.chmod(0o755)


def test_report_cli_reads_without_writing_the_store(tmp_path):
    (tmp_path / "store").mkdir()
    path = _store(tmp_path / "store")
    before = _snapshot(tmp_path / "store")
    result = CliRunner().invoke(app, ["report", "--store", str(path), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert _snapshot(tmp_path / "store") == before

"""One study at a time per store (issue 12, item 4): a second process stops with the holder's PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reglab.cli import app
from reglab.errors import StoreError
from reglab.experiments.config import load_config
from reglab.experiments.lock import lock_path, store_lock
from reglab.studies.study import run_study


def _holder(store: Path) -> subprocess.Popen:
    """Another process holding the store's lock (it prints once it holds it)."""
    code = (
        "import sys, time\n"
        "from reglab.experiments.lock import store_lock\n"
        f"with store_lock({str(store)!r}):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "locked\n", proc.stderr.read()
    return proc


def _message(store: Path, pid: int) -> str:
    return (f"The run store {str(store)!r} is in use by another reglab process (PID {pid}; lock "
            f"{str(lock_path(store))!r}). Expected one study at a time per store: wait for it to finish, or choose "
            "another --out directory.")


def test_second_study_on_the_same_store_stops_naming_the_holder(tmp_path):
    out = tmp_path / "out"
    store = out / "runs.sqlite"
    config = load_config("study", overrides={"epochs": 1, "seeds": 1, "train_size": 100, "arms": ["baseline"],
                                             "out": str(out)})
    proc = _holder(store)
    try:
        with pytest.raises(StoreError) as exc:
            run_study(config, report=False)
        assert str(exc.value) == _message(store, proc.pid)
        assert not store.exists()  # stopped before touching the store
        result = CliRunner().invoke(app, ["study", "--epochs", "1", "--seeds", "1", "--train-size", "100",
                                          "--arms", "baseline", "--out", str(out)])
        assert result.exit_code == 2 and result.stderr == f"Error: {_message(store, proc.pid)}\n"
    finally:
        proc.send_signal(signal.SIGKILL)  # a crash: the kernel drops the flock with the fd
        proc.wait()
    summary = run_study(config, report=False)
    assert (summary.planned, summary.completed) == (1, 1)
    assert lock_path(store).read_text() == ""  # released on exit, PID cleared


def test_lock_records_the_pid_and_refuses_a_second_holder(tmp_path):
    store = tmp_path / "runs.sqlite"
    with store_lock(store) as path:
        assert path == tmp_path / "runs.sqlite.lock"
        assert path.read_text() == f"{os.getpid()}\n"
        with pytest.raises(StoreError):  # a second holder, even in this process
            with store_lock(store):
                pass
    with store_lock(store):  # free again after the block
        pass

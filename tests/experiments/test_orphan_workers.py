"""Workers die with their parent (issue 12, item 3): ``kill -9`` of a study leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reglab.experiments.config import load_config, to_toml


def _children(pid: int) -> list[int]:
    """Live (non-zombie) processes whose parent is ``pid``."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_exit_within_5_s_after_kill_9_of_the_study(tmp_path):
    config = load_config("study", overrides={"epochs": 400, "seeds": 2, "train_size": 200, "batch_size": 50,
                                             "runner": "processes", "workers": 2, "out": str(tmp_path / "out"),
                                             "arms": ["baseline", "dropout"]})
    toml = tmp_path / "study.toml"
    toml.write_text(to_toml(config))
    script = (
        "from reglab.experiments.config import load_config\n"
        "from reglab.studies.study import run_study\n"
        f"run_study(load_config('study', path={str(toml)!r}), report=False)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "REGLAB_PROGRESS": "0"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        workers: list[int] = []
        while time.monotonic() < deadline and proc.poll() is None:
            workers = _children(proc.pid)
            if len(workers) >= 3:  # two workers and multiprocessing's resource tracker
                break
            time.sleep(0.1)
        assert len(workers) >= 3, proc.stderr.read().decode() if proc.poll() is not None else workers
        time.sleep(1.0)  # the workers are importing torch or training
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed = time.monotonic()
    while time.monotonic() - killed < 5 and any(_alive(pid) for pid in workers):
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # do not leak them into the rest of the suite
        os.kill(pid, signal.SIGKILL)
    assert left == []


def test_watchdog_exits_once_reparented(tmp_path):
    """The fallback without prctl: once its parent is gone, a worker exits within the interval."""
    pid_file = tmp_path / "pid"
    child = (
        "import os, sys, time\n"
        "from reglab.experiments.runners import orphan\n"
        "orphan._set_pdeathsig = lambda sig: False\n"  # the watchdog alone
        "orphan.die_with_parent(int(sys.argv[1]), interval=0.05)\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(60)\n"
    )
    parent = (
        "import os, subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, '-c', {child!r}, str(os.getpid())])\n"
        f"while not os.path.exists({str(pid_file)!r}): time.sleep(0.02)\n"
        "time.sleep(0.2)\n"
        "os._exit(0)\n"  # dies without waiting for its child
    )
    subprocess.run([sys.executable, "-c", parent], timeout=60, check=True)
    pid = int(pid_file.read_text())
    gone_by = time.monotonic() + 3
    while time.monotonic() < gone_by and _alive(pid):
        time.sleep(0.05)
    alive = _alive(pid)
    if alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive


def test_pdeathsig_is_set_on_linux():
    if not sys.platform.startswith("linux"):
        pytest.skip("Linux only")
    out = subprocess.run(
        [sys.executable, "-c", "import os; from reglab.experiments.runners import orphan; "
                               "print(orphan.die_with_parent(os.getppid()))"],
        capture_output=True, text=True, timeout=20, env={**os.environ})
    assert out.stdout.strip() == "True", out.stderr

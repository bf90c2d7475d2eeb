"""reglab's Trainer under DistributedDataParallel: 2 gloo processes on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch


def _free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


@pytest.mark.slow
def test_both_ranks_stop_at_the_same_epoch_with_the_same_weights(tmp_path):
    worker = Path(__file__).with_name("ddp_worker.py")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, str(worker), str(r), "2", port, str(tmp_path)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for r in range(2)]
    outputs = [p.communicate(timeout=240)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in range(2))
    assert r0["stopped"] == r1["stopped"] < 30  # early stopping fired, on both ranks at once
    assert r0["reason"] == r1["reason"]
    assert r0["val_loss"] == r1["val_loss"]  # all-reduced before the callbacks decided
    assert r0["epochs"] == r1["epochs"] == list(range(1, r0["stopped"] + 1))  # set_epoch every epoch
    for k in r0["weights"]:
        assert torch.equal(r0["weights"][k], r1["weights"][k]), k

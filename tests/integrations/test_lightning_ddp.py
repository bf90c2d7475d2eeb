"""RestoreBestEarlyStopping under Lightning's DDP (gloo, 2 processes on 127.0.0.1)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("lightning.pytorch")


@pytest.mark.slow
def test_both_ranks_stop_at_the_same_epoch_and_restore_the_same_weights(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    worker = Path(__file__).with_name("lightning_ddp_worker.py")
    base = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": port, "WORLD_SIZE": "2", "NODE_RANK": "0", "PL_DISABLE_FORK": "1"}
    procs = [subprocess.Popen([sys.executable, str(worker), str(tmp_path)], env={**base, "LOCAL_RANK": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for r in range(2)]
    outputs = [p.communicate(timeout=300)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt") for r in range(2))
    assert r0["epoch"] == r1["epoch"] < 30 and r0["reason"] == r1["reason"] and r0["best"] == r1["best"]
    assert r0["reason"].startswith(f"Stopped at epoch {r0['epoch']}: val_loss did not improve for 2 epochs")
    for k in r0["weights"]:
        assert torch.equal(r0["weights"][k], r1["weights"][k]), k

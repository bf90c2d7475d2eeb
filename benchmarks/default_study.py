"""Time the main job: ``reglab study`` with no arguments (MNIST-1D, MLP, 5 arms x 3 seeds, report).

Requirement: under 5 minutes on the project's 2-core machine. Prints the wall-clock time of the real
command (a fresh process: imports, data, training, store, report), the per-arm results, and for
comparison the time of the same number of runs as a plain PyTorch loop in one process
(``--plain``: one baseline run measured, times the number of runs) and with worker processes
instead of the vectorized runner (``--processes``).

    .venv/bin/python benchmarks/default_study.py                # the command alone
    .venv/bin/python benchmarks/default_study.py --plain --processes
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT_S = 300.0


def run_cli(out: Path, *extra: str) -> float:
    env = {**os.environ, "REGLAB_PROGRESS": "0"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "reglab", "study", "--out", str(out), "--quiet", *extra],
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"reglab study failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return seconds


def summary(out: Path) -> str:
    md = (out / "report.md").read_text()
    return "\n".join(line for line in md.splitlines() if line.startswith("|"))


def plain_pytorch_one_run(epochs: int) -> float:
    """One baseline run as a plain PyTorch loop (same data, model, optimizer, batch size)."""
    import torch
    from torch import nn

    from reglab.data import load

    torch.set_num_threads(1)
    splits = load("mnist1d")
    x, y = splits.x_train, splits.y_train
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(), nn.Linear(100, 10))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(y)).split(100):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            nn.functional.cross_entropy(model(splits.x_val), splits.y_val)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", action="store_true", help="also time a plain PyTorch loop (extrapolated)")
    parser.add_argument("--processes", action="store_true", help="also time --runner processes")
    args = parser.parse_args()

    from reglab.experiments.config import load_config
    from reglab.experiments.plan import plan

    config = load_config("study")
    n_runs = len(plan(config))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "default"
        ours = run_cli(out)
        print(f"reglab study (default, {n_runs} runs x {config.epochs} epochs, runner auto): {ours:.1f} s "
              f"-> {'PASS' if ours < LIMIT_S else 'FAIL'} (limit {LIMIT_S:.0f} s)")
        print(summary(out))
        if args.processes:
            proc_s = run_cli(Path(tmp) / "processes", "--runner", "processes")
            print(f"reglab study --runner processes: {proc_s:.1f} s; vectorized/processes = {ours / proc_s:.2f}")
    if args.plain:
        one = plain_pytorch_one_run(config.epochs)
        plain = one * n_runs
        print(f"plain PyTorch loop, one process: {one:.1f} s per run x {n_runs} runs = {plain:.1f} s "
              f"(extrapolated); reglab study / plain = {ours / plain:.2f}")
    print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

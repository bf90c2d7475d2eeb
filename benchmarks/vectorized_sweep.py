"""Vectorized sweep vs sequential runs: an 8-member dropout-rate sweep of the MNIST-1D MLP.

The sweep is 8 run specs (dropout 0.0, 0.1, ..., 0.7; MLP 40-100-100-10; AdamW lr 1e-2; batch
100; fixed epochs; one seed). Measured in the same invocation, single-threaded
(``torch.set_num_threads(1)``), rounds interleaved so every method sees the same machine load,
median over rounds:

* ``sequential``: ``reglab.experiments.run_one(spec)`` for each spec in turn, i.e. reglab's
  ``Trainer`` (the same path ``reglab study --runner processes`` takes in one worker);
* ``vectorized exact``: ``run_vectorized(specs)``: member k draws the masks ``run_one`` draws, so
  its results equal the sequential run's (the script checks the test accuracies);
* ``vectorized fast``: ``run_vectorized(specs, masks="fast")``: same Bernoulli law, cheaper draw.

Extra rows (not the headline; ``--no-threads2`` skips them): the same three methods with
``torch.set_num_threads(2)``, the vectorized times compared with the sequential runs at their best
of 1 or 2 threads.

Both sides include building the models, training, the per-epoch validation and the final
train/val/test evaluation of every run (what a study pays per run); the dataset is loaded once
beforehand (cached per process on both paths). Both run under the same glibc allocator settings
(``reuse_freed_memory``, which ``run_vectorized`` applies to itself).

Peak memory: ``tracemalloc`` does not see torch's CPU allocator, so each method runs once more in
its own fresh subprocess, which resets the kernel's peak-RSS mark (``/proc/self/clear_refs``) after
imports, data loading and a one-run warm-up, and reads ``VmHWM`` after training: the peak resident
set during the training alone, which counts every tensor torch allocates through ``malloc``. The RSS before
training is printed beside it; the difference is what the training added.

    .venv/bin/python benchmarks/vectorized_sweep.py                 # 10 epochs, 3 rounds
    .venv/bin/python benchmarks/vectorized_sweep.py --epochs 3 --rounds 1   # smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import torch

RATES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
METHODS = ("sequential", "vectorized exact", "vectorized fast")


def _specs(epochs: int, device: str, members: int = 8) -> list[Any]:
    """``members`` specs: dropout RATES[i % 8], seed i // 8 (8: the 8-rate sweep of one seed)."""
    from reglab.experiments.spec import DataSpec, ModelSpec, OptimizerSpec, RegularizationSpec, RunSpec

    return [
        RunSpec(
            arm=f"dropout={p}",
            seed=i // len(RATES),
            epochs=epochs,
            batch_size=100,
            data=DataSpec(name="mnist1d"),
            model=ModelSpec(name="mlp", options={"width": 100, "depth": 2}),
            optimizer=OptimizerSpec(name="adamw", lr=1e-2),
            regularization=RegularizationSpec(dropout=p),
        )
        for i, p in ((i, RATES[i % len(RATES)]) for i in range(members))
    ]


def _run(method: str, specs: list[Any], device: str) -> list[Any]:
    from reglab.experiments.execute import run_one
    from reglab.experiments.vectorized import run_vectorized

    if method == "sequential":
        return [run_one(spec, device=device) for spec in specs]
    return run_vectorized(specs, device=device, masks="exact" if method.endswith("exact") else "fast")


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _timed(method: str, specs: list[Any], device: str) -> tuple[float, list[Any]]:
    _sync(device)
    start = time.perf_counter()
    results = _run(method, specs, device)
    _sync(device)
    return time.perf_counter() - start, results


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _memory_child(method: str, epochs: int, device: str, members: int = 8) -> None:
    """Run one method once in this fresh process; print its memory as JSON.

    Before training (imports done, data loaded) the kernel's peak-RSS mark is reset (``5`` to
    ``/proc/self/clear_refs``, Linux >= 4.0), so ``VmHWM`` afterwards is the peak during training
    alone; without that file, ``getrusage().ru_maxrss`` (the whole process's peak) is reported.
    """
    torch.set_num_threads(1)
    from reglab.experiments.execute import load_splits

    specs = _specs(epochs, device, members)
    load_splits(specs[0].data)
    _run(method, [specs[0].model_copy(update={"epochs": 1})], device)  # imports every module it uses

    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        method_name = "VmHWM after resetting the mark"
    except OSError:
        method_name = "ru_maxrss (whole process)"
    before = _status_kib("VmRSS") if os.path.exists("/proc/self/status") else 0
    _run(method, specs, device)
    if method_name.startswith("VmHWM"):
        peak = _status_kib("VmHWM")
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cuda_peak = torch.cuda.max_memory_allocated() if device.startswith("cuda") else None
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kib": before, "peak_kib": peak, "maxrss_kib": maxrss, "how": method_name,
                      "cuda_peak_bytes": cuda_peak}))


def _memory(method: str, epochs: int, device: str, members: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--memory-child", method, "--epochs", str(epochs),
         "--device", device, "--members", str(members)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _two_threads(specs: list[Any], args: Any, seq_one: float) -> None:
    """Extra rows, not the headline: every method with ``torch.set_num_threads(2)`` (interleaved
    rounds, median); the vectorized times are compared with the sequential runs at their best of
    1 thread (the table above) or 2 threads (measured here)."""
    from reglab.experiments.vectorized import reuse_freed_memory

    torch.set_num_threads(2)
    try:
        times: dict[str, list[float]] = {m: [] for m in METHODS}
        with reuse_freed_memory():
            for _ in range(args.rounds):
                for method in METHODS:
                    times[method].append(_timed(method, specs, args.device)[0])
    finally:
        torch.set_num_threads(1)
    med = {m: statistics.median(v) for m, v in times.items()}
    best_seq = min(seq_one, med["sequential"])
    print(
        f"\nextra rows, 2 torch threads on both sides (machine: {os.cpu_count()} cores; shared, noisy);"
        f" speed-up against sequential at its best of 1 thread ({seq_one:.2f} s) and 2 threads"
        f" ({med['sequential']:.2f} s):"
    )
    for m in METHODS:
        rounds = ", ".join(f"{t:.2f}" for t in times[m])
        print(f"{m + ' (2 thr)':<26} {med[m]:9.2f} {med[m] / len(specs):10.3f} {best_seq / med[m]:8.2f}x   [{rounds}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--members", type=int, default=8, help="runs in the sweep (rates cycle, seeds grow)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument(
        "--no-threads2",
        action="store_true",
        help="skip the extra rows where both sides may use 2 threads (the headline stays single-threaded)",
    )
    parser.add_argument("--memory-child", choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.memory_child:
        _memory_child(args.memory_child, args.epochs, args.device, args.members)
        return

    from reglab.experiments.execute import load_splits

    specs = _specs(args.epochs, args.device, args.members)
    info = load_splits(specs[0].data).info
    print(
        f"MNIST-1D MLP 40-100-100-10, {len(specs)} members (dropout {', '.join(str(p) for p in RATES)}"
        f"{'' if len(specs) == len(RATES) else ' x seeds'}), "
        f"{args.epochs} epochs x {-(-info.n_train // 100)} steps of batch 100, AdamW lr 1e-2, "
        f"device {args.device}, torch threads {torch.get_num_threads()}, {args.rounds} interleaved rounds"
    )
    _run("vectorized fast", [s.model_copy(update={"epochs": 1}) for s in specs], args.device)  # warm-up
    _run("sequential", [s.model_copy(update={"epochs": 1}) for s in specs[:2]], args.device)
    from reglab.experiments.vectorized import reuse_freed_memory

    times: dict[str, list[float]] = {m: [] for m in METHODS}
    last: dict[str, list[Any]] = {}
    # run_vectorized trains inside reuse_freed_memory(); give the sequential runs the same
    # allocator settings, so the comparison is of the training loops only.
    with reuse_freed_memory():
        for _ in range(args.rounds):
            for method in METHODS:
                seconds, last[method] = _timed(method, specs, args.device)
                times[method].append(seconds)
    med = {m: statistics.median(v) for m, v in times.items()}
    print(f"\n{'method':<18} {'median s':>9} {'per run s':>10} {'speed-up':>9} {'(paired)':>9} {'(best/best)':>11}   rounds")
    for m in METHODS:
        rounds = ", ".join(f"{t:.2f}" for t in times[m])
        best = min(times["sequential"]) / min(times[m])
        paired = statistics.median(a / b for a, b in zip(times["sequential"], times[m]))
        print(
            f"{m:<18} {med[m]:9.2f} {med[m] / len(specs):10.3f} {med['sequential'] / med[m]:8.2f}x"
            f" {paired:8.2f}x {best:10.2f}x   [{rounds}]"
        )
    print(
        "speed-up: ratio of the medians (the headline); (paired): median over rounds of the ratio within"
        " a round; (best/best): ratio of the fastest rounds"
    )

    if not args.no_threads2 and (os.cpu_count() or 1) >= 2:
        _two_threads(specs, args, med["sequential"])

    acc = {m: [r.final["test_acc"] for r in last[m]] for m in METHODS}
    diff = max(abs(a - b) for a, b in zip(acc["sequential"], acc["vectorized exact"]))
    print(f"\nmax |test_acc(sequential) - test_acc(vectorized exact)| over the members: {diff:.4f}")
    print("test acc by dropout rate (sequential / exact / fast):")
    for spec, a, b, c in zip(specs, acc["sequential"], acc["vectorized exact"], acc["vectorized fast"]):
        print(f"  p={spec.regularization.dropout:.1f} seed {spec.seed}: {a:.3f} / {b:.3f} / {c:.3f}")

    if not args.no_memory:
        print("\npeak memory, one fresh subprocess per method (RSS before training = after imports and data):")
        for m in METHODS:
            mem = _memory(m, args.epochs, args.device, args.members)
            line = (
                f"  {m:<18} peak RSS during training {mem['peak_kib'] / 1024:7.1f} MiB "
                f"(before {mem['before_kib'] / 1024:7.1f} MiB, +{(mem['peak_kib'] - mem['before_kib']) / 1024:5.1f} MiB;"
                f" {mem['how']}; whole-process ru_maxrss {mem['maxrss_kib'] / 1024:.1f} MiB)"
            )
            if mem["cuda_peak_bytes"] is not None:
                line += f", CUDA peak allocated {mem['cuda_peak_bytes'] / 2**20:.1f} MiB"
            print(line)

if __name__ == "__main__":
    main()

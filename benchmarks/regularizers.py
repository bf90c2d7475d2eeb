"""Speed of reglab's regularizers against their PyTorch equivalents, measured in the same run.

For every technique with a PyTorch counterpart, time forward-only and forward+backward at the two
sizes of the issue (256x1024 and 64x64x32x32), single-threaded, and print our time / PyTorch time
(median over interleaved rounds, so both sides see the same machine load). Target: ratio <= 1.10.

Rows marked "generator" time reglab with an explicit ``torch.Generator`` (its own mask code)
against PyTorch's fused op on the global RNG: the cost of reproducible per-call randomness.

    .venv/bin/python benchmarks/regularizers.py            # full (about a minute)
    .venv/bin/python benchmarks/regularizers.py --quick    # fewer rounds, smoke test
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

import reglab.functional as RF
import reglab.nn as RN

SIZES = {"256x1024": (256, 1024), "64x64x32x32": (64, 64, 32, 32)}


_SYNC: Callable[[], None] = lambda: None  # torch.cuda.synchronize on a GPU


def _per_call(fn: Callable[[], Any], number: int) -> float:
    _SYNC()
    start = time.perf_counter()
    for _ in range(number):
        fn()
    _SYNC()
    return (time.perf_counter() - start) / number


def compare(ours: Callable[[], Any], theirs: Callable[[], Any], rounds: int, budget_s: float) -> tuple[float, float]:
    """Median seconds per call of ``ours`` and ``theirs``, alternating rounds."""
    for fn in (ours, theirs):  # warm-up (allocator, first-call dispatch)
        fn()
        fn()
    single = max(_per_call(ours, 1), _per_call(theirs, 1), 1e-6)
    number = max(1, int(budget_s / (2 * rounds * single)))
    ours_t, theirs_t = [], []
    for i in range(rounds):
        pair = [(ours, ours_t), (theirs, theirs_t)]
        if i % 2:
            pair.reverse()
        for fn, sink in pair:
            sink.append(_per_call(fn, number))
    return statistics.median(ours_t), statistics.median(theirs_t)


def forward(module_or_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> Callable[[], Any]:
    def run() -> Any:
        with torch.no_grad():
            return module_or_fn(x)

    return run


def forward_backward(module_or_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> Callable[[], Any]:
    x = x.detach().requires_grad_()

    def run() -> Any:
        out = module_or_fn(x)
        return torch.autograd.grad(out, x, torch.ones_like(out) if out.dim() else None)

    return run


def rows(device: str) -> list[tuple[str, str, Callable[[torch.Tensor], Any], Callable[[torch.Tensor], Any]]]:
    """(technique, size, ours, theirs) with modules in training mode."""
    out: list[tuple[str, str, Callable[[torch.Tensor], Any], Callable[[torch.Tensor], Any]]] = []
    gen = torch.Generator(device).manual_seed(0)
    for size in SIZES:
        out.append(("Dropout(0.5) vs nn.Dropout", size, RN.Dropout(0.5).train(), nn.Dropout(0.5).train()))
    out.append(
        ("SpatialDropout(0.5) vs nn.Dropout2d", "64x64x32x32", RN.SpatialDropout(0.5).train(),
         nn.Dropout2d(0.5).train())
    )
    for size in SIZES:
        out.append(("AlphaDropout(0.2) vs nn.AlphaDropout", size, RN.AlphaDropout(0.2).train(),
                    nn.AlphaDropout(0.2).train()))
    for size in SIZES:
        out.append(("dropout vs F.dropout (functions)", size,
                    lambda x: RF.dropout(x, 0.5, training=True), lambda x: F.dropout(x, 0.5, True)))
    for size in SIZES:
        out.append(("dropout(generator) vs F.dropout", size,
                    lambda x: RF.dropout(x, 0.5, training=True, generator=gen), lambda x: F.dropout(x, 0.5, True)))
    out.append(("spatial_dropout(generator) vs F.dropout2d", "64x64x32x32",
                lambda x: RF.spatial_dropout(x, 0.5, training=True, generator=gen),
                lambda x: F.dropout2d(x, 0.5, True)))
    for size in SIZES:
        out.append(("alpha_dropout(generator) vs F.alpha_dropout", size,
                    lambda x: RF.alpha_dropout(x, 0.2, training=True, generator=gen),
                    lambda x: F.alpha_dropout(x, 0.2, True)))
    return out


def label_smoothing_rows(device: str) -> list[tuple[str, str, Callable[[torch.Tensor], Any], Callable[[torch.Tensor], Any]]]:
    try:
        from reglab.losses import label_smoothing_cross_entropy
    except ImportError as exc:  # written by another part of the project
        print(f"note: skipping label smoothing rows ({exc})")
        return []
    out = []
    for size, shape in SIZES.items():
        target_shape = shape[:1] + shape[2:]
        target = torch.randint(0, shape[1], target_shape, generator=torch.Generator().manual_seed(0)).to(device)
        out.append((
            "label_smoothing_cross_entropy vs F.cross_entropy(label_smoothing=0.1)", size,
            lambda x, t=target: label_smoothing_cross_entropy(x, t, 0.1),
            lambda x, t=target: F.cross_entropy(x, t, label_smoothing=0.1),
        ))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds per side (median taken)")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per row and pass, both sides together")
    parser.add_argument("--quick", action="store_true", help="3 rounds, 0.2 s per row: a smoke test")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.budget = 3, 0.2
    torch.set_num_threads(1)
    torch.manual_seed(0)
    if args.device.startswith("cuda"):
        global _SYNC
        _SYNC = torch.cuda.synchronize
    inputs = {size: torch.randn(shape, device=args.device) for size, shape in SIZES.items()}

    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU, 1 thread"
    print(f"torch {torch.__version__}, {where}, median of {args.rounds} interleaved rounds; ratio = ours / torch")
    header = f"{'technique':<70} {'size':<12} {'pass':<9} {'ours ms':>9} {'torch ms':>9} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name, size, ours, theirs in rows(args.device) + label_smoothing_rows(args.device):
        x = inputs[size]
        for label, make in (("fwd", forward), ("fwd+bwd", forward_backward)):
            t_ours, t_theirs = compare(make(ours, x), make(theirs, x), args.rounds, args.budget)
            ratio = t_ours / t_theirs
            if "generator" not in name:
                worst = max(worst, ratio)
            print(f"{name:<70} {size:<12} {label:<9} {t_ours * 1e3:>9.3f} {t_theirs * 1e3:>9.3f} {ratio:>6.3f}")
    print(f"worst ratio over the delegating rows (target <= 1.10): {worst:.3f}")


if __name__ == "__main__":
    main()

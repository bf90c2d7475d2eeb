"""Teacher-student distillation on MNIST-1D (Hinton et al. 2015, arXiv:1503.02531).

Runs ``reglab.studies.distillation.run_distillation`` (an ordinary study): the small student from
scratch (baseline), the teacher MLP, the student distilled from the teacher (T, alpha), from an
ensemble of teachers, and a teacher-size born-again student, over seeds; prints the study's table
(mean, 95% Student t interval, effects vs the student). Store and report go to --out.

Usage: python benchmarks/distillation.py [--seeds 3] [--epochs 60] [--teacher-width 512]
       [--student-width 32] [--teacher-dropout 0.3] [--temperature 4] [--alpha 0.9] [--ensemble 3] [--out DIR]
Single-threaded, one process (teachers reused within it).
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--teacher-width", type=int, default=512)
    ap.add_argument("--student-width", type=int, default=32)
    ap.add_argument("--teacher-dropout", type=float, default=0.3, help="dropout inside the teacher (Hinton et al. "
                    "trained theirs with dropout); 0: none")
    ap.add_argument("--temperature", type=float, default=4.0)
    ap.add_argument("--alpha", type=float, default=0.9)
    ap.add_argument("--ensemble", type=int, default=3)
    ap.add_argument("--no-self", action="store_true")
    ap.add_argument("--out", default="reglab-out/bench-distillation")
    args = ap.parse_args()

    from rich.console import Console

    from reglab.studies.distillation import distillation_config, run_distillation

    cfg = distillation_config(
        overrides={"name": "bench-distillation", "out": args.out, "seeds": args.seeds, "epochs": args.epochs,
                   "model.options.width": args.student_width, "workers": 1},
        teacher={"name": "mlp", "options": {"width": args.teacher_width, "dropout": args.teacher_dropout}},
        temperature=args.temperature, alpha=args.alpha, ensemble=args.ensemble, self_distillation=not args.no_self,
    )
    start = time.perf_counter()
    console = Console(width=160)
    summary = run_distillation(cfg, resume=False, console=console)
    print()
    print(f"MNIST-1D, AdamW lr 1e-2, batch 100, {args.epochs} epochs, T={args.temperature:g}, "
          f"alpha={args.alpha:g}, teacher dropout {args.teacher_dropout:g}, {args.seeds} seeds")
    console.print(summary.report.table)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

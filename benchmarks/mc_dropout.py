"""MC dropout vs the deterministic (eval-mode) network on MNIST-1D: accuracy, ECE, NLL, Brier.

Gal & Ghahramani 2016 (ICML, arXiv:1506.02142) report better test log-likelihood with MC dropout
than with the standard weight-scaling prediction. This script trains the MNIST-1D MLP
(40-100-100-10) with dropout for each seed, scores the test set in eval mode and with
``reglab.uncertainty.mc_predict`` (T passes), and prints mean and 95% Student t interval over
seeds, plus the paired difference MC - deterministic. A row for the same MLP without dropout
(eval mode) is the plain-network reference.

Usage: python benchmarks/mc_dropout.py [--seeds 5] [--epochs 100] [--dropout 0.2] [--samples 50]
Single-threaded (torch.set_num_threads(1)).
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--bins", type=int, default=15)
    args = ap.parse_args()

    from reglab.analysis import mean_ci
    from reglab.experiments.execute import _train
    from reglab.experiments.spec import RunSpec
    from reglab.studies.uncertainty import evaluate_uncertainty
    from reglab.uncertainty import calibration_metrics, deterministic_predict

    rows: dict[str, dict[str, list[float]]] = {"baseline (no dropout), eval": {}, "dropout, eval (deterministic)": {},
                                                f"dropout, MC (T={args.samples})": {}}
    diffs: dict[str, list[float]] = {}
    start = time.perf_counter()
    for seed in range(args.seeds):
        base = RunSpec(arm="baseline", seed=seed, epochs=args.epochs)
        model, _, splits = _train(base, device="cpu", progress=False)
        m = calibration_metrics(deterministic_predict(model, splits.x_test), splits.y_test, args.bins)
        for key in ("accuracy", "ece", "nll", "brier"):
            rows["baseline (no dropout), eval"].setdefault(key, []).append(getattr(m, key))
        spec = RunSpec(arm="dropout", seed=seed, epochs=args.epochs, regularization={"dropout": args.dropout})
        r = evaluate_uncertainty(spec, samples=args.samples, seed=seed, n_bins=args.bins)
        for key in ("accuracy", "ece", "nll", "brier"):
            rows["dropout, eval (deterministic)"].setdefault(key, []).append(getattr(r.deterministic, key))
            rows[f"dropout, MC (T={args.samples})"].setdefault(key, []).append(getattr(r.mc, key))
            diffs.setdefault(key, []).append(getattr(r.mc, key) - getattr(r.deterministic, key))
        print(f"seed {seed}: baseline acc {m.accuracy:.3f} ece {m.ece:.4f} nll {m.nll:.3f} | dropout det acc "
              f"{r.deterministic.accuracy:.3f} ece {r.deterministic.ece:.4f} nll {r.deterministic.nll:.3f} | MC acc "
              f"{r.mc.accuracy:.3f} ece {r.mc.ece:.4f} nll {r.mc.nll:.3f}  ({time.perf_counter() - start:.0f} s)",
              flush=True)

    def fmt(values: list[float], scale: float, digits: int, sign: str = "") -> str:
        mean, lo, hi = mean_ci(values)
        return f"{scale * mean:{sign}.{digits}f} [{scale * lo:{sign}.{digits}f}, {scale * hi:{sign}.{digits}f}]"

    print()
    print(f"MNIST-1D, MLP 40-100-100-10, AdamW lr 1e-2, {args.epochs} epochs, dropout {args.dropout}, "
          f"{args.seeds} seeds, ECE with {args.bins} bins; mean [95% CI]")
    print("| prediction | test acc % | ECE % | NLL (nats) | Brier |")
    print("|---|---|---|---|---|")
    for name, vals in rows.items():
        print(f"| {name} | {fmt(vals['accuracy'], 100, 1)} | {fmt(vals['ece'], 100, 2)} | "
              f"{fmt(vals['nll'], 1, 3)} | {fmt(vals['brier'], 1, 4)} |")
    print(f"| MC - deterministic (paired) | {fmt(diffs['accuracy'], 100, 1, '+')} | {fmt(diffs['ece'], 100, 2, '+')} | "
          f"{fmt(diffs['nll'], 1, 3, '+')} | {fmt(diffs['brier'], 1, 4, '+')} |")
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

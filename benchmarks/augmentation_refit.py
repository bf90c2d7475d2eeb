"""Augmentation on MNIST-1D, the full protocol: choose on validation, refit on train+val, test once.

For each model, every candidate recipe trains on the training split with 20% held out for
validation (``val_fraction=0.2``) over ``--seeds`` seeds; the recipe with the best mean validation
accuracy is chosen. The chosen recipe and the unregularized baseline are then retrained on all
4,000 training signals (``val_fraction=0``: the validation split rejoins training, nothing is
chosen on it any more) and measured on the 1,000 test signals once. Prints mean test accuracy with
its 95% Student t interval and the paired effect against the baseline (same seeds: same initial
weights and data order), with ``scipy.stats.ttest_rel``'s interval.

Every run is ``reglab.experiments.execute.run_one`` of a plain run spec, so a study reproduces the
same numbers. Measured on a 2-core CPU (5 seeds, about 4 minutes for both models), see the README.

    python benchmarks/augmentation_refit.py [--seeds 5] [--models mlp,cnn1d] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
from typing import Any

from scipy import stats

#: name -> (model, epochs, optimizer, regularization). The MLP is MNIST-1D's 40-100-100-10.
CANDIDATES: dict[str, dict[str, tuple[str, int, dict[str, Any], dict[str, Any]]]] = {
    "mlp": {
        "shift + dropout 0.1 + smoothing 0.1, cosine, 300 ep": (
            "mlp", 300, {"name": "adamw", "lr": 0.01, "schedule": "cosine"},
            {"augment": "shift", "dropout": 0.1, "label_smoothing": 0.1}),
        "shift + mixup 0.2 + weight decay 0.05, 200 ep": (
            "mlp", 200, {"name": "adamw", "lr": 0.01}, {"augment": "shift", "mixup_alpha": 0.2, "weight_decay": 0.05}),
    },
    "cnn1d": {
        "shift, 100 ep": ("cnn1d", 100, {"name": "adamw", "lr": 0.01}, {"augment": "shift"}),
        "shift, cosine, 200 ep": ("cnn1d", 200, {"name": "adamw", "lr": 0.01, "schedule": "cosine"}, {"augment": "shift"}),
    },
}
BASELINE = {"mlp": ("mlp", 200, {"name": "adamw", "lr": 0.01}, {}), "cnn1d": ("cnn1d", 100, {"name": "adamw", "lr": 0.01}, {})}


def _run(job: tuple[str, tuple[str, int, dict[str, Any], dict[str, Any]], int, float]) -> tuple[str, int, float, dict[str, Any]]:
    import torch

    from reglab.experiments.execute import run_one
    from reglab.experiments.spec import RunSpec

    torch.set_num_threads(1)
    name, (model, epochs, opt, reg), seed, val_fraction = job
    spec = RunSpec.from_dict({"arm": "run", "seed": seed, "epochs": epochs, "batch_size": 100, "model": {"name": model},
                              "data": {"name": "mnist1d", "val_fraction": val_fraction}, "optimizer": opt,
                              "regularization": reg})
    return name, seed, val_fraction, run_one(spec).final


def _ci(values: list[float]) -> str:
    mean = statistics.fmean(values)
    half = stats.t.ppf(0.975, len(values) - 1) * stats.sem(values) if len(values) > 1 else float("nan")
    return f"{100 * mean:.1f} [{100 * (mean - half):.1f}, {100 * (mean + half):.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--models", default="mlp,cnn1d")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(args.workers) as pool:
        for model in args.models.split(","):
            cands = CANDIDATES[model]
            picked = pool.map(_run, [(n, c, s, 0.2) for n, c in cands.items() for s in seeds])
            val = {n: [f["val_acc"] for m, _, _, f in picked if m == n] for n in cands}
            for n in cands:
                print(f"{model} | {n} | validation {_ci(val[n])}")
            best = max(cands, key=lambda n: statistics.fmean(val[n]))
            print(f"{model} | chosen on validation: {best}")
            refit = pool.map(_run, [(best, cands[best], s, 0.0) for s in seeds]
                             + [("baseline", BASELINE[model], s, 0.0) for s in seeds])
            test = {n: {s: f["test_acc"] for m, s, _, f in refit if m == n} for n in (best, "baseline")}
            chosen, base = [test[best][s] for s in seeds], [test["baseline"][s] for s in seeds]
            paired = stats.ttest_rel(chosen, base).confidence_interval(0.95) if len(seeds) > 1 else None
            diff = statistics.fmean(chosen) - statistics.fmean(base)
            print(f"{model} | refit on train+val, test once | baseline {_ci(base)} | chosen {_ci(chosen)} | "
                  f"paired effect {100 * diff:+.1f}" + (f" [{100 * paired.low:+.1f}, {100 * paired.high:+.1f}]" if paired else ""))
            print(json.dumps({"model": model, "chosen": best, "test": test[best], "baseline": test["baseline"]}))


if __name__ == "__main__":
    main()

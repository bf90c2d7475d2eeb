"""Does ``reglab.analysis.diagnose`` name the regime a run was built to be in?

Runs built so that their regime is known by construction, on offline data, several seeds each:

* underfitting: a linear model on MNIST-1D (capacity-limited: ~32% test accuracy, Greydanus 2020);
  the MLP with decoupled weight decay 1.0 (weights held near zero); the MLP after 3 epochs at
  lr 1e-4 (training has barely started);
* overfitting: the MLP (width 256) on 200 MNIST-1D samples for 150 epochs (memorises them); the MLP
  on all samples with 30% of the training labels flipped, 100 epochs (fits the noise);
* good fit: a small MLP on 1000 two-moons points (train and validation accuracy both high and
  close); the same on moons with noise 0.35, whose classes overlap (a curve-only verdict cannot
  tell the irreducible error from underfitting: the known limit of the rules); the MNIST-1D MLP
  with dropout 0.2 and early stopping on validation accuracy (patience 10, best weights restored,
  as ``reglab study``'s stack arm).

A second, *held-out* set (``--set heldout``) was never used to choose a threshold: other
datasets (scikit-learn's digits, wine and breast cancer), other sizes and seeds 10 and up:

* underfitting: the MLP with 2 hidden units per layer on digits (a bottleneck; a first try, the
  MLP with weight decay 2.0, still fit digits at 99% and was dropped as a construction); the MLP
  after 2 epochs at lr 1e-4 on wine; the linear model on 1,500 MNIST-1D samples;
* overfitting: the MLP (width 256) on 150 digits for 150 epochs; the MLP on 1,000 MNIST-1D samples
  with 40% of the labels flipped;
* good fit: a small MLP (width 16) with early stopping on breast cancer; the MLP with dropout 0.2
  and early stopping on digits; a small MLP on 600 two-moons points (noise 0.2).

Each run goes through ``diagnose(history, final)`` (the verdict ``reglab study`` stores and the
report prints: the gap of the final weights in eval mode, the table's gap); the script prints the
confusion matrix of verdict against construction and the agreement. The thresholds are those of
``reglab.analysis.diagnosis`` (named constants, see its docstring).

    .venv/bin/python benchmarks/diagnosis_calibration.py                # tuning set, 3 seeds
    .venv/bin/python benchmarks/diagnosis_calibration.py --set heldout  # the held-out set
    .venv/bin/python benchmarks/diagnosis_calibration.py --seeds 1      # smoke test
"""

from __future__ import annotations

import argparse
import math
import time
from collections import Counter
from typing import Any

import torch

from reglab.analysis import diagnose
from reglab.analysis.diagnosis import VERDICTS
from reglab.experiments.execute import run_one
from reglab.experiments.spec import (
    DataSpec,
    EarlyStoppingSpec,
    ModelSpec,
    OptimizerSpec,
    RegularizationSpec,
    RunSpec,
)


def _regimes() -> list[tuple[str, str, dict[str, Any]]]:
    """(expected verdict, name, RunSpec fields)."""
    mnist = DataSpec(name="mnist1d")
    mlp = ModelSpec(name="mlp")
    return [
        ("underfitting", "linear model, MNIST-1D", {"data": mnist, "model": ModelSpec(name="linear_head"), "epochs": 30}),
        ("underfitting", "MLP, weight decay 1.0", {
            "data": mnist, "model": mlp, "epochs": 30, "regularization": RegularizationSpec(weight_decay=1.0)}),
        ("underfitting", "MLP, 3 epochs at lr 1e-4", {
            "data": mnist, "model": mlp, "epochs": 3, "optimizer": OptimizerSpec(lr=1e-4)}),
        ("overfitting", "MLP width 256, 200 samples", {
            "data": DataSpec(name="mnist1d", train_size=200), "model": ModelSpec(name="mlp", options={"width": 256}),
            "epochs": 150, "batch_size": 50}),
        ("overfitting", "MLP, 30% labels flipped", {
            "data": DataSpec(name="mnist1d", label_noise=0.3), "model": mlp, "epochs": 100}),
        ("good fit", "small MLP, two moons", {
            "data": DataSpec(name="moons", options={"n_samples": 1250}),
            "model": ModelSpec(name="mlp", options={"width": 32}), "epochs": 50, "batch_size": 50}),
        ("good fit", "small MLP, noisy moons (Bayes ~90%)", {
            "data": DataSpec(name="moons", options={"n_samples": 1250, "noise": 0.35}),
            "model": ModelSpec(name="mlp", options={"width": 32}), "epochs": 50, "batch_size": 50}),
        ("good fit", "MLP, dropout 0.2 + early stopping", {
            "data": mnist, "model": mlp, "epochs": 100, "regularization": RegularizationSpec(
                dropout=0.2, early_stopping=EarlyStoppingSpec(monitor="val_acc", mode="max", patience=10))}),
    ]


def _heldout() -> list[tuple[str, str, dict[str, Any]]]:
    """(expected verdict, name, RunSpec fields): datasets, sizes and seeds not used for tuning."""
    mlp = ModelSpec(name="mlp")
    digits = DataSpec(name="digits")
    stop = EarlyStoppingSpec(monitor="val_acc", mode="max", patience=10)
    return [
        ("underfitting", "MLP with 2 hidden units, digits", {
            "data": digits, "model": ModelSpec(name="mlp", options={"width": 2}), "epochs": 30}),
        ("underfitting", "MLP, 2 epochs at lr 1e-4, wine", {
            "data": DataSpec(name="wine"), "model": mlp, "epochs": 2, "batch_size": 32,
            "optimizer": OptimizerSpec(lr=1e-4)}),
        ("underfitting", "linear model, 1500 MNIST-1D", {
            "data": DataSpec(name="mnist1d", train_size=1500), "model": ModelSpec(name="linear_head"), "epochs": 30}),
        ("overfitting", "MLP width 256, 150 digits", {
            "data": DataSpec(name="digits", train_size=150), "model": ModelSpec(name="mlp", options={"width": 256}),
            "epochs": 150, "batch_size": 50}),
        ("overfitting", "MLP, 1000 MNIST-1D, 40% flipped", {
            "data": DataSpec(name="mnist1d", train_size=1000, label_noise=0.4), "model": mlp, "epochs": 100}),
        ("good fit", "small MLP + early stopping, cancer", {
            "data": DataSpec(name="breast_cancer"), "model": ModelSpec(name="mlp", options={"width": 16}),
            "epochs": 60, "batch_size": 32, "regularization": RegularizationSpec(early_stopping=stop)}),
        ("good fit", "MLP, dropout 0.2 + early stop, digits", {
            "data": digits, "model": mlp, "epochs": 60, "regularization": RegularizationSpec(dropout=0.2, early_stopping=stop)}),
        ("good fit", "small MLP, 600 moons", {
            "data": DataSpec(name="moons", options={"n_samples": 750, "noise": 0.2}),
            "model": ModelSpec(name="mlp", options={"width": 16}), "epochs": 50, "batch_size": 50}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--set", choices=("tuning", "heldout"), default="tuning",
                        help="the runs the thresholds were tuned on, or the held-out runs")
    args = parser.parse_args()
    torch.set_num_threads(1)
    regimes = _regimes() if args.set == "tuning" else _heldout()
    first_seed = 0 if args.set == "tuning" else 10
    confusion: Counter[tuple[str, str]] = Counter()
    print(f"{args.set} set: {'regime':<36} {'expected':<13} verdicts over {args.seeds} seeds (final weights in eval "
          "mode: train / val acc %, train loss / ln K)")
    start = time.perf_counter()
    for expected, name, fields in regimes:
        verdicts, accs = [], []
        for seed in range(first_seed, first_seed + args.seeds):
            result = run_one(RunSpec(arm=name, seed=seed, **fields))
            f = result.final
            verdict = diagnose(result.history, f, num_classes=f.get("num_classes")).verdict
            verdicts.append(verdict)
            k = f.get("num_classes") or 2
            accs.append(f"{100 * f['train_acc']:.0f}/{100 * f['val_acc']:.0f}, "
                        f"loss {f['train_loss'] / math.log(k):.2f} ln K")
            confusion[(expected, verdict)] += 1
        print(f"{name:<36} {expected:<13} {', '.join(verdicts)}  ({', '.join(accs)})")
    total = sum(confusion.values())
    agree = sum(n for (e, v), n in confusion.items() if e == v)
    print(f"\nconfusion (rows: by construction, columns: verdict), {total} runs in {time.perf_counter() - start:.0f} s:")
    print(f"{'':<14}" + "".join(f"{v:>14}" for v in VERDICTS))
    for e in VERDICTS:
        print(f"{e:<14}" + "".join(f"{confusion[(e, v)]:>14}" for v in VERDICTS))
    print(f"agreement: {agree}/{total} = {100 * agree / total:.0f}%")


if __name__ == "__main__":
    main()

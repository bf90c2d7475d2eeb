"""The one definition of every derived number, and verdicts that never contradict it."""

from __future__ import annotations

import math
from itertools import product

import pytest

from reglab.analysis import quantities as Q
from reglab.analysis import summarize_arms
from reglab.analysis.diagnosis import (
    OVERFIT_LARGE_GAP,
    OVERFIT_MIN_GAP,
    OVERFIT_VAL_RISE,
    UNDERFIT_MAX_GAP,
)

FINAL = {"train_acc": 0.98, "val_acc": 0.70, "test_acc": 0.68, "train_loss": 0.05,
         "val_loss": 1.1, "test_loss": 1.2}


def test_gaps_of_the_final_metrics():
    assert Q.acc_gap(FINAL) == pytest.approx(0.28)
    assert Q.loss_gap(FINAL) == pytest.approx(1.05)
    assert Q.test_acc_gap(FINAL) == pytest.approx(0.30)
    assert Q.test_loss_gap(FINAL) == pytest.approx(1.15)
    assert Q.gap(FINAL) == Q.acc_gap(FINAL) and Q.gap_kind(FINAL) == "accuracy"
    regression = {"train_loss": 0.2, "val_loss": 0.5, "train_acc": None, "val_acc": None}
    assert Q.gap(regression) == pytest.approx(0.3) and Q.gap_kind(regression) == "loss"
    assert math.isnan(Q.gap({})) and Q.acc_gap({"train_acc": 1.0, "val_acc": math.nan}) is None
    assert Q.format_gap(0.298, "accuracy") == "+29.8 pts"
    assert Q.format_gap(-0.0123, "loss") == "-0.012" and Q.format_gap(math.nan, "loss") == "n/a"


def test_best_epoch_rise_and_peak_read_the_validation_curve():
    h = {"epoch": [3, 4, 5, 6], "val_loss": [1.0, 0.5, 0.5, 0.6], "val_acc": [0.5, 0.6, 0.7, 0.7]}
    assert Q.best_epoch(h) == 4  # first of the tied minima
    assert Q.peak_val_acc_epoch(h) == 5
    assert Q.val_loss_rise(h) == pytest.approx(0.2)
    assert Q.val_loss_rise({"val_loss": [1.0, float("nan")]}) == math.inf
    # early stopping restored the best weights: the final weights sit at the minimum
    assert Q.val_loss_rise(h, {"val_loss": 0.5}) == 0.0
    assert Q.best_epoch({"val_loss": [None, None]}) is None


def test_select_best_uses_the_validation_score_only():
    arms = [("a", 0.70, 0.90), ("b", 0.75, 0.60), ("c", math.nan, 0.99)]  # (name, val, test)
    assert Q.select_best(arms, lambda a: a[1])[0] == "b"
    assert Q.select_best(arms, lambda a: a[1], higher_is_better=False)[0] == "a"
    assert Q.select_best([("c", math.nan, 1.0)], lambda a: a[1]) is None


def test_grid_edge():
    assert Q.grid_edge([0.0, 0.01, 0.1], 0.1) == "largest"
    assert Q.grid_edge([None, 0.01, 0.1], None) == "smallest"
    assert Q.grid_edge([0.0, 0.01, 0.1], 0.01) is None
    assert Q.grid_edge([0.0, 0.1], 0.1) is None  # two values: an ablation, not a grid


def _contradictions(summaries) -> list[str]:
    """Verdicts that contradict the numbers printed beside them."""
    bad = []
    runs = [(s.arm, r) for s in summaries for r in s.runs]
    for arm, r in runs:
        d, gap = r.diagnosis, Q.gap(r.final)
        label = f"{arm} seed {r.seed}: {d['verdict']} ({d['rule']}) with gap {gap:+.3f}"
        if d["gap"] != pytest.approx(gap):
            bad.append(label + f" but the diagnosis read {d['gap']:+.3f}")
        if Q.format_gap(gap, "accuracy") not in d["sentence"]:
            bad.append(label + " but its sentence prints another gap")
        if d["verdict"] == "overfitting" and gap <= 0:
            bad.append(label + ": overfitting with a negative gap")
        if d["verdict"] == "good fit" and gap >= OVERFIT_LARGE_GAP:
            bad.append(label + ": good fit with a large gap")
        rise = Q.val_loss_rise(r.history, r.final)
        if d["verdict"] == "good fit" and gap >= OVERFIT_MIN_GAP and rise > OVERFIT_VAL_RISE:
            bad.append(label + f": good fit with validation loss "
                       f"{Q.val_loss_rise(r.history, r.final):+.0%} above its minimum")
        if d["verdict"] == "underfitting" and d["rule"] != "diverged" and abs(gap) >= UNDERFIT_MAX_GAP:
            bad.append(label + ": underfitting with a large gap")
    for (a1, r1), (a2, r2) in product(runs, runs):
        if (r1.diagnosis["verdict"] == "good fit" and r2.diagnosis["verdict"] == "overfitting"
                and r2.diagnosis["rule"] == "large_gap" and Q.gap(r1.final) > Q.gap(r2.final)):
            bad.append(f"{a1} seed {r1.seed} is a good fit with a larger gap than {a2} seed "
                       f"{r2.seed}, an overfitting run")
    return bad


@pytest.mark.slow
def test_no_verdict_of_a_dropout_sweep_contradicts_its_numbers():
    """A small dropout sweep (MNIST-1D, 300 samples): every verdict agrees with the gap of the
    final weights (eval mode) that the table prints, and with the validation curve."""
    from reglab.experiments.execute import run_one
    from reglab.experiments.spec import DataSpec, ModelSpec, RegularizationSpec, RunSpec

    runs = [run_one(RunSpec(arm=f"dropout={p}", seed=0, epochs=30, batch_size=50,
                            data=DataSpec(name="mnist1d", train_size=300), model=ModelSpec(name="mlp"),
                            regularization=RegularizationSpec(dropout=p)))
            for p in (0.0, 0.25, 0.5, 0.75)]
    summaries = summarize_arms(runs)
    assert _contradictions(summaries) == []
    # the running training accuracy (dropout active) reads lower than the final weights' in eval
    # mode, which decide the gap
    heavy = summaries[-1].runs[0]
    assert heavy.history["train_acc"][-1] < heavy.final["train_acc"]
    assert [s.runs[0].diagnosis["verdict"] for s in summaries][0] == "overfitting"


def test_scripted_contradictions_are_caught():
    """The checker itself: a 'good fit' whose gap is larger than an overfitting run's fails."""
    from types import SimpleNamespace

    from reglab.experiments.spec import RunSpec

    def run(arm, train_acc, val_acc, verdict, rule):
        return SimpleNamespace(
            key=arm, spec=RunSpec(arm=arm, regularization={"dropout": 0.1} if arm != "baseline" else {}),
            history={}, final={"test_acc": val_acc, "train_acc": train_acc, "val_acc": val_acc},
            diagnosis={"verdict": verdict, "rule": rule, "gap": train_acc - val_acc,
                       "sentence": f"gap {Q.format_gap(train_acc - val_acc, 'accuracy')}"})

    ok = summarize_arms([run("baseline", 1.0, 0.62, "overfitting", "large_gap")])
    assert _contradictions(ok) == []
    wrong = summarize_arms([run("baseline", 1.0, 0.75, "overfitting", "large_gap"),
                            run("dropout", 0.96, 0.66, "good fit", "none")])
    assert _contradictions(wrong) == [
        "dropout seed 0: good fit (none) with gap +0.300: good fit with a large gap",
        "dropout seed 0 is a good fit with a larger gap than baseline seed 0, an overfitting run",
    ]

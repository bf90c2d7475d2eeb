"""diagnose() on scripted curves: each verdict, its exact sentence, the thresholds, bad input."""

from __future__ import annotations

import json
import math

import pytest

from reglab.analysis import Diagnosis, diagnose
from reglab.analysis import diagnosis as dg


def hist(train_loss, val_loss, train_acc=None, val_acc=None):
    h = {"epoch": list(range(1, len(val_loss) + 1)), "train_loss": train_loss, "val_loss": val_loss}
    if train_acc is not None:
        h["train_acc"], h["val_acc"] = train_acc, val_acc
    return h


OVERFIT = hist(
    train_loss=[2.0, 1.5, 1.0, 0.7, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02],
    val_loss=[1.0, 0.8, 0.6, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8],
    train_acc=[0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.0, 1.0],
    val_acc=[0.45, 0.55, 0.62, 0.7, 0.69, 0.68, 0.67, 0.66, 0.65, 0.64],
)
GOOD = hist(
    train_loss=[1.2, 0.8, 0.6, 0.5, 0.45, 0.42, 0.40, 0.39, 0.38, 0.38],
    val_loss=[1.0, 0.7, 0.5, 0.45, 0.42, 0.41, 0.40, 0.41, 0.41, 0.42],
    train_acc=[0.6, 0.7, 0.8, 0.85, 0.88, 0.89, 0.90, 0.91, 0.92, 0.92],
    val_acc=[0.6, 0.7, 0.79, 0.84, 0.87, 0.88, 0.89, 0.89, 0.90, 0.90],
)
UNDER = hist(
    train_loss=[2.3, 2.2, 2.1, 2.0, 1.95, 1.9, 1.87, 1.85, 1.82, 1.8],
    val_loss=[2.3, 2.21, 2.12, 2.02, 1.97, 1.92, 1.89, 1.87, 1.84, 1.82],
    train_acc=[0.1, 0.15, 0.2, 0.25, 0.28, 0.3, 0.32, 0.33, 0.34, 0.35],
    val_acc=[0.1, 0.15, 0.2, 0.24, 0.27, 0.29, 0.31, 0.32, 0.33, 0.34],
)


def test_overfitting_sentence_and_numbers():
    d = diagnose(OVERFIT, num_classes=10)
    assert d.verdict == "overfitting" and d.rule == "val_loss_rise"
    assert d.sentence == (
        "Overfitting: validation loss bottomed at 0.500 in epoch 4 and rose 60% by epoch 10 (0.800), "
        "with a train-val accuracy gap +36.0 pts for the final weights; stop near epoch 4 or "
        "regularize more."
    )
    assert d.best_epoch == 4 and d.last_epoch == 10
    assert d.gap == pytest.approx(0.36) and d.val_loss_rise == pytest.approx(0.6)
    assert d.val_acc_best == 0.7 and d.gap_kind == "accuracy"


def test_final_metrics_decide_the_gap_not_the_running_training_accuracy():
    """The history's training accuracy (dropout active) reads 0.80; the final weights in eval
    mode fit the training set at 0.99: the gap and the verdict are the final weights'."""
    h = hist(train_loss=[1.0, 0.8, 0.7, 0.65, 0.6], val_loss=[1.0, 0.9, 0.88, 0.87, 0.87],
             train_acc=[0.6, 0.7, 0.75, 0.78, 0.80], val_acc=[0.6, 0.66, 0.68, 0.69, 0.70])
    assert diagnose(h).verdict == "good fit"  # a live curve: running accuracy, gap 0.10
    final = {"train_loss": 0.05, "train_acc": 0.99, "val_loss": 0.87, "val_acc": 0.70}
    d = diagnose(h, final, num_classes=10)
    assert d.verdict == "overfitting" and d.rule == "large_gap"
    assert d.gap == pytest.approx(0.29) and d.train_loss_end == 0.05
    assert d.sentence == (
        "Overfitting: the final weights reach 99.0% training accuracy but 70.0% validation "
        "accuracy (train-val accuracy gap +29.0 pts, at least 20 pts); validation loss stayed "
        "within 10% of its minimum 0.870 (epoch 4); regularize more."
    )


def test_good_fit_sentence():
    d = diagnose(GOOD, num_classes=10)
    assert d.verdict == "good fit" and d.rule == "none"
    assert d.sentence == (
        "Good fit: validation loss reached its minimum 0.400 in epoch 7 and ended at 0.420 (+5%) "
        "in epoch 10, with a train-val accuracy gap +2.0 pts for the final weights."
    )


def test_underfitting_sentence_uses_chance_loss():
    d = diagnose(UNDER, num_classes=10)
    assert d.verdict == "underfitting" and d.rule == "high_train_loss"
    assert d.chance_loss == pytest.approx(math.log(10))
    assert d.sentence == (
        "Underfitting: the final weights' training loss is 1.800 (78% of the chance level ln 10 "
        "= 2.303) and training accuracy 35.0% with a train-val accuracy gap +1.0 pts after epoch "
        "10; reduce regularization, train longer or use a larger model."
    )


@pytest.mark.parametrize(
    ("loss_fraction", "gap", "verdict"),
    [
        (0.43, 0.09, "underfitting"),  # benchmarks/diagnosis_calibration.py: MLP held by weight decay 1.0
        (0.69, 0.07, "underfitting"),  # ... and the linear model on MNIST-1D
        (0.36, 0.03, "good fit"),  # ... and the small MLP at the Bayes rate of noisy moons
        (0.43, 0.15, "underfitting"),  # high training loss and a gap below the large-gap 20 pts
        (0.43, 0.21, "overfitting"),  # a gap of at least 20 points is overfitting, whatever the loss
    ],
)
def test_underfitting_thresholds_as_calibrated(loss_fraction, gap, verdict):
    # A flat run ending at the given training loss (fraction of ln 10) and accuracy gap.
    tl = loss_fraction * math.log(10)
    h = hist(train_loss=[tl + 0.3, tl + 0.1, tl], val_loss=[tl + 0.3, tl + 0.15, tl + 0.1],
             train_acc=[0.5, 0.55, 0.6], val_acc=[0.5, 0.55 - gap / 2, 0.6 - gap])
    assert diagnose(h, num_classes=10).verdict == verdict
    assert (dg.UNDERFIT_MAX_GAP, dg.UNDERFIT_LOSS_FRACTION) == (0.20, 0.40)


def test_underfitting_without_num_classes_uses_train_accuracy():
    d = diagnose(UNDER)
    assert d.verdict == "underfitting" and d.rule == "low_train_acc"
    assert d.sentence == (
        "Underfitting: the final weights' training accuracy is 35.0% (below 70%) with a "
        "train-val accuracy gap +1.0 pts after epoch 10; reduce regularization, train longer or "
        "use a larger model."
    )


def test_rise_threshold_is_strict():
    """A val-loss rise just below 10% is not overfitting; just above it is."""
    base = dict(OVERFIT)
    at = [1.0, 0.8, 0.6, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5 * (1 + dg.OVERFIT_VAL_RISE) - 1e-6]
    above = at[:-1] + [0.5 * (1 + dg.OVERFIT_VAL_RISE) + 1e-6]
    # keep the final gap under the large-gap rule so only the rise rule can fire
    accs = dict(train_acc=[0.5, 0.6, 0.7, 0.8, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9],
                val_acc=[0.45, 0.55, 0.62, 0.75, 0.76, 0.76, 0.76, 0.76, 0.76, 0.76])
    d_at = diagnose({**base, "val_loss": at, **accs}, num_classes=10)
    d_above = diagnose({**base, "val_loss": above, **accs}, num_classes=10)
    assert d_at.verdict == "good fit"
    assert d_above.verdict == "overfitting" and d_above.rule == "val_loss_rise"


def test_rise_needs_a_gap_of_5_points_to_be_overfitting():
    """A validation loss 25% above its minimum with a 2-point gap is overconfidence that costs no
    accuracy: a good fit that says so; with a 6-point gap it is overfitting; never with a
    negative gap."""
    h = dict(GOOD, val_loss=[1.0, 0.7, 0.5, 0.45, 0.42, 0.41, 0.40, 0.45, 0.48, 0.50])
    d = diagnose(h)
    assert d.val_loss_rise == pytest.approx(0.25) and d.gap == pytest.approx(0.02)
    assert d.verdict == "good fit"
    assert d.sentence == (
        "Good fit: validation loss reached its minimum 0.400 in epoch 7 and ended at 0.500 (+25%) "
        "in epoch 10, with a train-val accuracy gap +2.0 pts for the final weights; the loss rise "
        "with a gap under 5 pts is overconfidence that costs no accuracy (label smoothing or early "
        "stopping on the loss address it).")
    final = {"train_loss": 0.3, "train_acc": 0.96, "val_loss": 0.5, "val_acc": 0.90}
    assert diagnose(h, final).rule == "val_loss_rise"
    negative = diagnose(h, {**final, "train_acc": 0.88})
    assert negative.verdict == "good fit" and negative.gap == pytest.approx(-0.02)
    # early stopping restored the minimum's weights: no rise for the final weights
    restored = diagnose(h, {**final, "val_loss": 0.40})
    assert restored.val_loss_rise == 0.0 and restored.verdict == "good fit"


def test_large_gap_without_loss_rise_is_overfitting():
    h = hist(
        train_loss=[1.0, 0.5, 0.2, 0.1, 0.05],
        val_loss=[1.1, 0.95, 0.9, 0.9, 0.92],
        train_acc=[0.6, 0.8, 0.95, 0.99, 1.0],
        val_acc=[0.55, 0.62, 0.66, 0.66, 0.66],
    )
    d = diagnose(h)
    assert d.verdict == "overfitting" and d.rule == "large_gap"
    assert d.sentence == (
        "Overfitting: the final weights reach 100.0% training accuracy but 66.0% validation "
        "accuracy (train-val accuracy gap +34.0 pts, at least 20 pts); validation loss stayed "
        "within 10% of its minimum 0.900 (epoch 3); regularize more."
    )


def test_regression_history_uses_loss_gap():
    over = hist(train_loss=[1.0, 0.5, 0.3, 0.1, 0.05], val_loss=[1.1, 0.7, 0.6, 0.7, 0.9])
    d = diagnose(over)
    assert d.verdict == "overfitting" and d.gap_kind == "loss"
    assert d.sentence == (
        "Overfitting: validation loss bottomed at 0.600 in epoch 3 and rose 50% by epoch 5 (0.900), with "
        "a val-train loss gap +0.850 for the final weights; stop near epoch 3 or regularize more."
    )
    slow = hist(train_loss=[1.0, 0.9, 0.8, 0.75, 0.7], val_loss=[1.05, 0.95, 0.85, 0.8, 0.75])
    d = diagnose(slow)
    assert d.verdict == "underfitting" and d.rule == "slow_train_loss"
    assert d.sentence == (
        "Underfitting: training loss fell only 30% (from 1.000 to 0.700) by epoch 5 with a "
        "val-train loss gap +0.050; reduce regularization, train longer or use a larger model."
    )


def test_regression_large_loss_gap_without_rise_is_overfitting():
    """Training MSE falls to 0.1 while validation MSE stays flat at 0.6 (standardised targets): a
    memorising model, though the validation loss never turns up. It used to be called a good fit."""
    flat = hist(train_loss=[1.0, 0.6, 0.3, 0.15, 0.1], val_loss=[0.9, 0.65, 0.6, 0.6, 0.62])
    d = diagnose(flat, num_classes=1)
    assert d.verdict == "overfitting" and d.rule == "large_gap" and d.gap_kind == "loss"
    assert d.sentence == (
        "Overfitting: the final weights' validation loss 0.62 is 0.52 above their training loss 0.1 (a "
        "val-train loss gap at least the training loss itself; validation loss stayed within 10% of "
        "its minimum); regularize more."
    )
    # just under the ratio: val < 2 x train is a good fit
    close = hist(train_loss=[1.0, 0.6, 0.4, 0.35, 0.33], val_loss=[0.9, 0.7, 0.62, 0.6, 0.65])
    assert diagnose(close, num_classes=1).verdict == "good fit"


def test_diverged_run_is_underfitting():
    h = hist(train_loss=[1.0, 0.8, float("nan"), float("nan")],
             val_loss=[1.0, 0.9, float("nan"), float("nan")],
             train_acc=[0.3, 0.4, 0.1, 0.1], val_acc=[0.3, 0.4, 0.1, 0.1])
    d = diagnose(h)
    assert d.verdict == "underfitting" and d.rule == "diverged" and d.best_epoch == 2
    assert d.sentence == ("Underfitting: training diverged (non-finite loss from epoch 3); lower "
                          "the learning rate or clip gradients.")
    assert d.to_dict()["final_val_loss"] is None


def test_best_epoch_is_first_minimum_and_uses_epoch_numbers():
    h = dict(GOOD, epoch=[11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
             val_loss=[1.0, 0.7, 0.5, 0.4, 0.42, 0.41, 0.40, 0.41, 0.41, 0.42])
    assert diagnose(h).best_epoch == 14


def test_to_dict_is_json_and_round_trips():
    d = diagnose(OVERFIT, num_classes=10)
    data = json.loads(json.dumps(d.to_dict()))
    assert Diagnosis.from_dict(data) == d


def test_history_without_validation_is_rejected():
    with pytest.raises(ValueError) as exc:
        diagnose({"train_loss": [1.0, 0.5], "val_loss": [None, None]})
    assert str(exc.value) == (
        "Invalid value for argument `history`. Expected per-epoch 'val_loss' values (train with "
        "a validation split). Received: history['val_loss']=[None, None]"
    )


def test_length_mismatch_is_rejected():
    with pytest.raises(ValueError) as exc:
        diagnose({"train_loss": [1.0], "val_loss": [1.0, 0.5]})
    assert str(exc.value) == (
        "Invalid value for argument `history`. Expected 2 values under 'train_loss' (one per "
        "epoch, like 'val_loss'). Received: len(history['train_loss'])=1"
    )


def test_num_classes_must_be_positive_and_one_means_regression():
    with pytest.raises(ValueError) as exc:
        diagnose(GOOD, num_classes=0)
    assert str(exc.value) == (
        "Invalid value for argument `num_classes`. Expected an integer >= 1. Received: num_classes=0"
    )
    assert diagnose(UNDER, num_classes=1) == diagnose(UNDER)  # one regression output: no ln K


def test_non_mapping_is_rejected():
    with pytest.raises(ValueError) as exc:
        diagnose([1, 2, 3])
    assert str(exc.value) == (
        "Invalid value for argument `history`. Expected a mapping like History.to_dict(). "
        "Received: history of type list"
    )


def test_overfitting_advises_the_validation_accuracy_peak_when_later():
    h = dict(OVERFIT, val_acc=[0.45, 0.55, 0.62, 0.66, 0.69, 0.70, 0.72, 0.71, 0.70, 0.69])
    d = diagnose(h)
    assert d.best_epoch == 4 and d.peak_val_acc_epoch == 7
    assert d.sentence == (
        "Overfitting: validation loss bottomed at 0.500 in epoch 4 and rose 60% by epoch 10 (0.800), "
        "with a train-val accuracy gap +31.0 pts for the final weights; validation accuracy "
        "peaked at 0.720 in epoch 7; stop near epoch 7 or regularize more."
    )

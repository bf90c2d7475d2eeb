"""ECE / reliability bins on constructed cases with known answers, an independent reference,
NLL against torch's, Brier against scikit-learn's, and argument errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reglab.uncertainty import (
    brier_score,
    calibration_metrics,
    expected_calibration_error,
    negative_log_likelihood,
    reliability_bins,
)


def _binary(conf: list[float], predicted: list[int]) -> torch.Tensor:
    """Two-class probabilities whose max is ``conf`` on the class ``predicted``."""
    p = torch.tensor(conf, dtype=torch.float64)
    rows = [[c, 1 - c] if k == 0 else [1 - c, c] for c, k in zip(p.tolist(), predicted)]
    return torch.tensor(rows, dtype=torch.float64)


def test_one_bin_known_gap():
    probs = _binary([0.9] * 4, [0] * 4)
    labels = torch.tensor([0, 0, 0, 1])  # 3 of 4 correct at confidence 0.9
    assert expected_calibration_error(probs, labels) == pytest.approx(0.15, abs=1e-12)


def test_two_bins_weighted_by_counts():
    probs = _binary([0.6, 0.6, 0.9, 0.9, 0.9, 0.9], [0] * 6)
    labels = torch.tensor([0, 1, 0, 0, 0, 0])  # bin 0.6: acc 0.5 (gap 0.1), bin 0.9: acc 1 (gap 0.1)
    bins = reliability_bins(probs, labels, n_bins=10)
    assert bins.counts == [0, 0, 0, 0, 0, 2, 0, 0, 4, 0]
    assert bins.accuracy[5] == 0.5 and bins.accuracy[8] == 1.0
    assert math.isnan(bins.accuracy[0]) and math.isnan(bins.confidence[0])
    assert bins.ece == pytest.approx(2 / 6 * 0.1 + 4 / 6 * 0.1, abs=1e-12)
    assert bins.mce == pytest.approx(0.1, abs=1e-12)
    assert bins.n == 6
    assert bins.edges == [m / 10 for m in range(11)]


def test_perfectly_calibrated_and_always_wrong():
    probs = _binary([0.7] * 10, [1] * 10)
    labels = torch.tensor([1] * 7 + [0] * 3)
    assert expected_calibration_error(probs, labels, n_bins=5) == pytest.approx(0.0, abs=1e-12)
    wrong = torch.tensor([0] * 10)
    assert expected_calibration_error(probs, wrong, n_bins=5) == pytest.approx(0.7, abs=1e-12)


def test_confidence_on_an_edge_falls_in_the_bin_it_closes():
    probs = _binary([0.5, 1.0], [0, 0])
    bins = reliability_bins(probs, torch.tensor([0, 0]), n_bins=2)
    assert bins.counts == [1, 1]  # 0.5 in [0, 0.5], 1.0 in (0.5, 1]
    bins = reliability_bins(probs, torch.tensor([0, 0]), n_bins=1)
    assert bins.counts == [2]
    assert bins.ece == pytest.approx(1 - 0.75, abs=1e-12)


def _reference_ece(probs: np.ndarray, labels: np.ndarray, n_bins: int) -> float:
    conf, pred = probs.max(1), probs.argmax(1)
    ece = 0.0
    for m in range(n_bins):
        lo, hi = m / n_bins, (m + 1) / n_bins
        mask = (conf > lo) & (conf <= hi) if m > 0 else (conf >= lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs((pred[mask] == labels[mask]).mean() - conf[mask].mean())
    return ece


@pytest.mark.parametrize("n_bins", [1, 7, 15])
def test_matches_a_reference_loop_on_random_predictions(n_bins):
    g = torch.Generator().manual_seed(n_bins)
    probs = torch.softmax(3 * torch.randn(500, 5, generator=g, dtype=torch.float64), dim=1)
    labels = torch.randint(0, 5, (500,), generator=g)
    ours = expected_calibration_error(probs, labels, n_bins)
    assert ours == pytest.approx(_reference_ece(probs.numpy(), labels.numpy(), n_bins), abs=1e-12)


def test_nll_matches_cross_entropy_and_log_domain():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(50, 4, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 4, (50,), generator=g)
    expected = float(F.cross_entropy(logits, labels))
    assert negative_log_likelihood(torch.softmax(logits, 1), labels) == pytest.approx(expected, abs=1e-12)
    assert negative_log_likelihood(torch.log_softmax(logits, 1), labels, log=True) == pytest.approx(expected, abs=1e-12)
    zero = torch.tensor([[1.0, 0.0]])
    assert negative_log_likelihood(zero, torch.tensor([1])) == math.inf


def test_brier_by_hand_and_against_scikit_learn():
    probs = torch.tensor([[0.7, 0.3], [0.2, 0.8]], dtype=torch.float64)
    labels = torch.tensor([0, 0])
    assert brier_score(probs, labels) == pytest.approx((0.09 + 0.09 + 0.64 + 0.64) / 2, abs=1e-12)
    from sklearn.metrics import brier_score_loss

    g = torch.Generator().manual_seed(1)
    p1 = torch.rand(100, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (100,), generator=g)
    two = torch.stack([1 - p1, p1], dim=1)
    # scikit-learn's binary score is mean (p1 - y)^2; the multi-class form counts both classes: x2.
    assert brier_score(two, y) == pytest.approx(2 * brier_score_loss(y.numpy(), p1.numpy()), abs=1e-12)


def test_calibration_metrics_bundle():
    probs = _binary([0.6, 0.6, 0.9, 0.9], [0, 1, 0, 0])
    labels = torch.tensor([0, 0, 0, 1])
    m = calibration_metrics(probs, labels, n_bins=10, log_probs=probs.log())
    assert m.accuracy == 0.5
    assert m.n == 4
    assert m.ece == reliability_bins(probs, labels, 10).ece
    assert m.nll == pytest.approx(-(math.log(0.6) + math.log(0.4) + math.log(0.9) + math.log(0.1)) / 4, abs=1e-12)
    assert m.brier == brier_score(probs, labels)
    assert m.to_dict()["bins"]["counts"] == m.bins.counts


def test_errors():
    probs = torch.full((3, 2), 0.5)
    with pytest.raises(ValueError) as exc:
        expected_calibration_error(probs, torch.tensor([0, 1, 0]), n_bins=0)
    assert str(exc.value) == "Invalid value for argument `n_bins`. Expected an integer >= 1. Received: n_bins=0"
    with pytest.raises(ValueError) as exc:
        expected_calibration_error(torch.full((3,), 0.5), torch.tensor([0, 1, 0]))
    assert str(exc.value) == ("Invalid value for argument `probs`. Expected a floating tensor of shape (N, C) "
                              "with N >= 1. Received: probs.shape=(3,), dtype=torch.float32")
    with pytest.raises(ValueError) as exc:
        brier_score(probs, torch.tensor([0, 1]))
    assert str(exc.value) == ("Invalid value for argument `labels`. Expected an integer tensor of shape (3,). "
                              "Received: labels.shape=(2,), dtype=torch.int64")
    with pytest.raises(ValueError) as exc:
        brier_score(probs, torch.tensor([0, 2, 0]))
    assert str(exc.value) == "Invalid value for argument `labels`. Expected class indices in [0, 1]. Received: a label 2"
    with pytest.raises(ValueError) as exc:
        negative_log_likelihood(torch.tensor([[1.5, -0.5]]), torch.tensor([0]))
    assert str(exc.value) == "Invalid value for argument `probs`. Expected probabilities in [0, 1]. Received: a value -0.5"
    with pytest.raises(ValueError) as exc:
        calibration_metrics(probs, torch.tensor([0, 1, 0]), log_probs=torch.zeros(2, 2))
    assert str(exc.value) == ("Invalid value for argument `log_probs`. Expected a tensor of the shape of probs "
                              "(3, 2). Received: log_probs.shape=(2, 2)")

"""Figure helpers: per-epoch means over runs of different lengths, which arms get histograms."""

from __future__ import annotations

import pytest

from reglab.analysis import summarize_arms
from reglab.report.figures import mean_curve, weight_histograms


def test_mean_curve_handles_early_stopped_runs_and_nan():
    h1 = {"epoch": [1, 2, 3], "val_loss": [1.0, 0.8, 0.9], "train_acc": [0.5, 0.7, 0.9],
          "val_acc": [0.5, 0.6, 0.6]}
    h2 = {"epoch": [1, 2], "val_loss": [2.0, float("nan")], "train_acc": [0.7, None],
          "val_acc": [0.6, 0.6]}
    assert mean_curve([h1, h2], "val_loss") == ([1, 2, 3], [1.5, 0.8, 0.9])
    xs, gaps = mean_curve([h1, h2], "acc_gap")
    assert xs == [1, 2, 3] and gaps == pytest.approx([0.05, 0.1, 0.3])


def test_weight_histogram_figure_needs_two_arms_with_histograms(scripted):
    only_base = [scripted.make_run("baseline", 0, 0.6, weight_hist=scripted.hist(0.0, 0.3)),
                 scripted.make_run("l1", 0, 0.6, l1=1e-4)]  # no histogram stored for l1
    assert weight_histograms(summarize_arms(only_base)) is None
    both = only_base[:1] + [scripted.make_run("l1", 0, 0.6, weight_hist=scripted.hist(0.5, 0.1),
                                              l1=1e-4),
                            scripted.make_run("l1x", 0, 0.6, weight_hist=scripted.hist(0.6, 0.1),
                                              l1=1e-3)]
    fig = weight_histograms(summarize_arms(both))
    assert fig.id == "fig-weight-hist" and fig.png[:4] == b"\x89PNG"
    # the strongest L1 arm is shown, next to the baseline
    assert fig.alt == ("Weight histograms of the final weights: baseline (baseline, 0% near "
                       "zero); l1x (L1 0.001, 60% near zero)")

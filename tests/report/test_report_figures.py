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
    xs, acc = mean_curve([h1, h2], "train_acc")
    assert xs == [1, 2, 3] and acc == pytest.approx([0.6, 0.7, 0.9])


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


@pytest.mark.parametrize("value", [0.3, 0.01])
def test_sweep_figure_with_one_value_besides_zero_warns_nothing(scripted, value):
    import warnings

    from reglab.analysis.effects import find_sweeps
    from reglab.report.figures import sweep_figure

    field = "dropout" if value == 0.3 else "weight_decay"
    runs = [scripted.make_run(f"{field}={v}", s, 0.6 + v / 10, **{field: v}) for v in (0.0, value) for s in (0, 1)]
    (sweep,) = find_sweeps(summarize_arms(runs))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's singular-xlim UserWarning fails the test
        fig = sweep_figure(sweep)
    assert fig.png[:4] == b"\x89PNG"
    assert f"against {field} ({'log' if value < 0.1 else 'linear'} axis) for values 0, {value:g};" in fig.alt


def test_two_field_grid_gets_a_heatmap_and_every_slice_a_line(scripted, tmp_path):
    """A 3 x 2 grid of dropout x weight decay: a heatmap whose outlined best cell is chosen on
    validation, and one line per weight-decay slice in the dropout sweep (none dropped)."""
    import re

    from reglab.analysis.effects import sweep_slices
    from reglab.report import build_report

    runs = []
    for d in (0.0, 0.2, 0.5):
        for wd in (0.0, 0.1):
            reg = {k: v for k, v in (("dropout", d), ("weight_decay", wd)) if v}
            arm = ",".join(f"{k}={v}" for k, v in reg.items()) or "baseline"
            runs += [scripted.make_run(arm, s, 0.9 if (d, wd) == (0.5, 0.1) else 0.6,
                                       "good" if (d, wd) == (0.2, 0.1) else "overfit", **reg)
                     for s in range(2)]
    summaries = summarize_arms(runs)
    slices = sweep_slices(summaries, "dropout")
    assert [label for label, _ in slices] == ["weight_decay=0", "weight_decay=0.1"]
    assert [[v for v, _ in sl.points] for _, sl in slices] == [[0.0, 0.2, 0.5], [0.0, 0.2, 0.5]]
    report = build_report(runs, tmp_path)
    assert report.figure_ids == ["fig-learning-curves", "fig-gap", "fig-heatmap-dropout-weight-decay",
                                 "fig-sweep-dropout", "fig-sweep-weight-decay"]
    alts = dict(re.findall(r'<figure id="([^"]+)"><h3>[^<]*</h3><img alt="([^"]*)"',
                           report.html_path.read_text()))
    # best on validation: dropout 0.2 + wd 0.1 (validation 88%), not the best test score (0.5, 0.1)
    assert alts["fig-heatmap-dropout-weight-decay"] == (
        "Heatmap of validation accuracy over dropout (0, 0.2, 0.5) and weight_decay (0, 0.1); best "
        "(on validation) at dropout=0.2, weight_decay=0.1")
    assert alts["fig-sweep-dropout"] == (
        "Sweep plot: validation accuracy against dropout, one line per slice (weight_decay=0; "
        "weight_decay=0.1); best at dropout=0.2,weight_decay=0.1")

"""summarize_arms / find_sweeps on hand-made runs with known numbers."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from reglab.analysis import diff_ci, find_sweeps, mean_ci, summarize_arms
from reglab.analysis.effects import regularization_setting
from reglab.errors import ReglabError
from reglab.experiments.spec import RunSpec


def run(arm, seed, test_acc, train_acc=1.0, val_acc=0.66, verdict="overfitting", **reg):
    spec = RunSpec.from_dict({"arm": arm, "seed": seed, "regularization": reg})
    return SimpleNamespace(
        key=spec.key(), spec=spec, status="done", history={},
        final={"test_acc": test_acc, "train_acc": train_acc, "val_acc": val_acc},
        diagnosis={"verdict": verdict, "sentence": "..."},
    )


RUNS = [
    run("dropout", 0, 0.70, 0.95, 0.70, "good fit", dropout=0.2),
    run("baseline", 1, 0.67, 1.0, 0.67),
    run("baseline", 0, 0.66, 1.0, 0.65),
    run("baseline", 2, 0.65, 1.0, 0.64),
    run("dropout", 1, 0.71, 0.96, 0.71, "good fit", dropout=0.2),
    run("dropout", 2, 0.69, 0.94, 0.68, "overfitting", dropout=0.2),
]


def test_arms_mean_ci_and_paired_effect():
    base, drop = summarize_arms(RUNS)
    assert base.arm == "baseline" and base.is_baseline and base.effect is None
    assert base.seeds == [0, 1, 2] and base.n == 3
    assert base.test_acc == pytest.approx(mean_ci([0.66, 0.67, 0.65]))
    assert base.gap == pytest.approx(mean_ci([0.35, 0.33, 0.36]))
    assert drop.setting == "dropout=0.2"
    # same seeds 0, 1, 2: paired differences 0.04, 0.04, 0.04 (no spread: a collapsed interval)
    assert drop.effect == pytest.approx((0.04, 0.04, 0.04)) and drop.effect_method == "paired"
    assert drop.p_value == 0.0 and drop.p_holm == 0.0
    assert drop.effect_excludes_zero is True
    assert drop.verdicts == {"underfitting": 0, "good fit": 2, "overfitting": 1}
    assert drop.verdict_text() == "2 good fit, 1 overfitting"


def test_reference_is_the_unregularized_arm_when_no_baseline_name():
    runs = [run("plain", s, 0.6 + 0.01 * s) for s in range(2)] + [
        run("wd", s, 0.65 + 0.01 * s, weight_decay=0.1) for s in range(2)]
    plain, wd = summarize_arms(runs)
    assert plain.is_baseline and wd.effect == pytest.approx((0.05, 0.05, 0.05))


def test_incomplete_pairs_fall_back_to_welch():
    import scipy.stats

    runs = [run("baseline", s, v) for s, v in [(0, 0.60), (1, 0.63), (2, 0.61)]] + [
        run("wd", s, v, weight_decay=0.1) for s, v in [(0, 0.66), (1, 0.64)]]  # seed 2 missing
    _, wd = summarize_arms(runs)
    assert wd.effect_method == "welch"
    assert wd.effect == pytest.approx(diff_ci([0.66, 0.64], [0.60, 0.63, 0.61]))
    assert wd.p_value == pytest.approx(
        scipy.stats.ttest_ind([0.66, 0.64], [0.60, 0.63, 0.61], equal_var=False).pvalue)


def test_paired_effects_are_holm_adjusted_across_arms():
    import scipy.stats

    base = [0.60, 0.63, 0.61, 0.64]
    arms = {"a": [0.62, 0.66, 0.62, 0.67], "b": [0.61, 0.63, 0.63, 0.64],
            "c": [0.70, 0.72, 0.69, 0.74]}
    runs = [run("baseline", s, v) for s, v in enumerate(base)]
    for i, (name, values) in enumerate(arms.items()):
        runs += [run(name, s, v, dropout=0.1 * (i + 1)) for s, v in enumerate(values)]
    _, *summaries = summarize_arms(runs)
    raw = [scipy.stats.ttest_rel(arms[s.arm], base).pvalue for s in summaries]
    for s, p in zip(summaries, raw):
        ci = scipy.stats.ttest_rel(arms[s.arm], base).confidence_interval()
        assert s.effect[1:] == pytest.approx((ci.low, ci.high)) and s.p_value == pytest.approx(p)
    order = sorted(range(3), key=lambda i: raw[i])
    expected, running = [0.0] * 3, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (3 - rank) * raw[i]))
        expected[i] = running
    assert [s.p_holm for s in summaries] == pytest.approx(expected)


def test_no_reference_means_no_effects():
    runs = [run("a", 0, 0.6, dropout=0.1), run("b", 0, 0.7, dropout=0.2)]
    a, b = summarize_arms(runs)
    assert a.effect is None and b.effect is None and not a.is_baseline


def test_single_seed_effect_interval_is_undefined():
    a, b = summarize_arms([run("baseline", 0, 0.6), run("dropout", 0, 0.7, dropout=0.2)])
    assert math.isnan(a.test_acc[1]) and math.isnan(b.effect[1])
    assert b.effect[0] == pytest.approx(0.1) and b.effect_excludes_zero is None


def test_unfinished_runs_are_left_out_and_none_is_an_error():
    failed = SimpleNamespace(key="x", spec=RunSpec(), status="failed", history={}, final={},
                             diagnosis=None)
    (base,) = summarize_arms(RUNS[1:4] + [failed])
    assert base.n == 3
    with pytest.raises(ReglabError) as exc:
        summarize_arms([failed])
    assert str(exc.value) == ("No completed runs to summarise. Expected at least one run with a "
                              "final test accuracy or loss. Received: 0 completed runs")


def test_diagnosis_is_computed_when_missing():
    r = run("baseline", 0, 0.6)
    r.diagnosis = None
    r.history = {"train_loss": [1.0, 0.5], "val_loss": [1.0, 0.5], "train_acc": [0.5, 0.6],
                 "val_acc": [0.5, 0.59]}
    r.final.update(train_acc=0.6, val_acc=0.59, train_loss=0.5, val_loss=0.5)
    (s,) = summarize_arms([r])
    # the final weights: train acc 0.6 < 0.70, gap 0.01
    assert s.runs[0].diagnosis["verdict"] == "underfitting"
    assert s.runs[0].diagnosis["gap"] == pytest.approx(0.01) == s.gap[0]


def test_spec_dicts_are_accepted():
    r = {"key": "k", "spec": RunSpec(arm="baseline").to_dict(), "final": {"test_acc": 0.5},
         "history": {}, "diagnosis": None}
    (s,) = summarize_arms([r])
    assert s.arm == "baseline" and s.test_acc[0] == 0.5 and math.isnan(s.gap[0])


def test_regularization_setting_text():
    reg = RunSpec.from_dict({"regularization": {"dropout": 0.2, "weight_decay": 0.05,
                                                "early_stopping": {"patience": 20}}})
    assert regularization_setting(reg.regularization.model_dump(mode="json")) == (
        "dropout=0.2, weight_decay=0.05, early_stopping(patience=20)"
    )
    es = RunSpec.from_dict({"regularization": {"early_stopping": {"monitor": "val_acc",
                                                                  "mode": "max"}}})
    assert regularization_setting(es.regularization.model_dump(mode="json")) == (
        "early_stopping(monitor=val_acc, mode=max, patience=10)")
    assert regularization_setting(RunSpec().regularization.model_dump(mode="json")) == "none"


def test_find_sweeps_groups_one_varying_field():
    runs = [run("baseline", 0, 0.6)]
    for wd in (0.1, 0.001, 0.01):
        runs.append(run(f"wd={wd}", 0, 0.6, weight_decay=wd))
    runs += [run("d", 0, 0.6, dropout=0.3), run("d+wd", 0, 0.6, dropout=0.3, weight_decay=0.1)]
    sweeps = {s.field: s for s in find_sweeps(summarize_arms(runs))}
    assert set(sweeps) == {"dropout", "weight_decay"}
    wd = sweeps["weight_decay"]
    assert [v for v, _ in wd.points] == [0.0, 0.001, 0.01, 0.1]
    assert [s.arm for _, s in wd.points] == ["baseline", "wd=0.001", "wd=0.01", "wd=0.1"]
    assert wd.log_scale and not sweeps["dropout"].log_scale
    # dropout varies with all else equal in {baseline, d} and in {wd=0.1, d+wd}: the first
    # largest group wins
    assert [s.arm for _, s in sweeps["dropout"].points] == ["baseline", "d"]


def test_explicit_baseline_must_exist_and_is_used():
    d, b = summarize_arms(RUNS, baseline="dropout")
    assert d.is_baseline and d.arm == "dropout" and b.effect[0] == pytest.approx(-0.04)
    with pytest.raises(ValueError) as exc:
        summarize_arms(RUNS, baseline="control")
    assert str(exc.value) == ("Invalid value for argument `baseline`. Expected one of 'dropout', "
                              "'baseline'. Received: baseline='control'")


def test_regression_settings_name_the_monitor_the_run_uses():
    """The early_stopping arm writes val_acc/max; a regression run monitors val_loss/min (one rule,
    ``techniques.catalog.early_stopping_monitor``, for the hook and the text)."""
    from reglab.techniques.catalog import early_stopping_monitor

    from reglab.techniques import apply_arm

    reg = apply_arm({}, "early_stopping", "mlp")
    assert regularization_setting(reg) == "early_stopping(monitor=val_acc, mode=max, patience=20)"
    assert regularization_setting(reg, "regression") == "early_stopping(monitor=val_loss, mode=min, patience=20)"
    assert early_stopping_monitor("val_acc", "max", "regression") == ("val_loss", "min")
    assert early_stopping_monitor("train_acc", "max", "regression") == ("train_loss", "min")
    assert early_stopping_monitor("val_loss", "min", "regression") == ("val_loss", "min")
    assert early_stopping_monitor("val_acc", "max", "classification") == ("val_acc", "max")

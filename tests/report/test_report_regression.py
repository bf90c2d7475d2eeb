"""A regression study's report: RMSE and log-likelihood columns replace the accuracy ones, the
effect is on the RMSE (lower is better) and the findings say so."""

from __future__ import annotations

import pytest
from scipy import stats

from reglab.report import build_report


def test_regression_report_ranks_arms_by_rmse(tmp_path, scripted):
    from reglab.experiments.spec import RunSpec

    def run(arm, seed, rmse, ll, **reg):
        spec = RunSpec.from_dict({"arm": arm, "seed": seed, "data": {"name": "diabetes"}, "regularization": reg})
        h = {"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.4], "val_loss": [1.1, 0.7, 0.6]}
        final = {"test_acc": None, "test_loss": rmse ** 2, "test_rmse": rmse, "test_ll": ll, "val_loss": (rmse + 0.1) ** 2,
                 "val_rmse": rmse + 0.1, "train_loss": 4.0, "train_acc": None, "val_acc": None,
                 "num_classes": 1}
        return scripted.FakeRun(spec.key(), spec, "completed", h, final, None)

    runs = [run("baseline", s, r, ll) for s, (r, ll) in enumerate([(3.0, -2.6), (3.2, -2.7), (2.8, -2.5)])]
    runs += [run("dropout", s, r, ll, dropout=0.1) for s, (r, ll) in enumerate([(2.5, -2.4), (2.6, -2.45),
                                                                                (2.4, -2.35)])]
    report = build_report(runs, tmp_path)
    base, drop = report.summaries
    assert base.metric == drop.metric == "rmse" and not drop.higher_is_better
    assert base.test[0] == pytest.approx(3.0) and drop.log_likelihood[0] == pytest.approx(-2.4)
    assert drop.effect[0] == pytest.approx(-0.5) and drop.significantly_better is True
    paired = stats.ttest_rel([2.5, 2.6, 2.4], [3.0, 3.2, 2.8]).confidence_interval(0.95)  # same seeds: paired
    md = report.markdown_path.read_text()
    assert "| Arm | Setting | Seeds | Val RMSE | Test RMSE | Test log-lik. | Effect (RMSE) | p | Verdicts |" in md
    val_half = stats.t.ppf(0.975, 2) * stats.sem([2.6, 2.7, 2.5])
    ll_half = stats.t.ppf(0.975, 2) * stats.sem([-2.4, -2.45, -2.35])
    assert (f"| dropout | dropout=0.1 | 3 | 2.6 ± {val_half:.2g} | "
            f"2.5 ± {stats.t.ppf(0.975, 2) * stats.sem([2.5, 2.6, 2.4]):.2g} | "
            f"-2.4 ± {ll_half:.2g} | -0.5 [{paired.low:+.2g}, {paired.high:+.2g}] |") in md
    assert "lower RMSE is better, so a negative effect is an improvement" in md
    assert report.findings.startswith(
        "The best arm, chosen on validation RMSE (2.6 vs the baseline's 3.1), is dropout (dropout=0.1): "
        "test RMSE 2.5 (95% CI 2.25 to 2.75, 3 seeds)")
    assert "RMSE is in the target's units; lower is better." in report.findings
    html = report.html_path.read_text()
    assert f'<td class="num better">-0.5 [{paired.low:+.2g}, {paired.high:+.2g}]</td>' in html

"""build_report: the HTML is self-contained and holds every figure; Markdown, findings, errors."""

from __future__ import annotations

import base64
import math
import re

import pytest
from scipy import stats

from reglab.errors import StoreError
from reglab.report import build_report

FIGURES = ["fig-learning-curves", "fig-gap", "fig-dropout-ablation", "fig-sweep-weight-decay",
           "fig-sweep-l1", "fig-weight-hist"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    import importlib.util
    import sys
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "reglab_tests_scripted_runs", Path(__file__).with_name("scripted_runs.py"))
    scripted = sys.modules.get("reglab_tests_scripted_runs")
    if scripted is None:
        scripted = importlib.util.module_from_spec(spec)
        sys.modules["reglab_tests_scripted_runs"] = scripted
        spec.loader.exec_module(scripted)
    out = tmp_path_factory.mktemp("report")
    store = out / "runs.sqlite"
    scripted.write_store(store, scripted.build_study_runs(), study="demo")
    report = build_report(store, out)
    return report, report.html_path.read_text(), report.markdown_path.read_text()


def test_files_and_figures(built):
    report, html, md = built
    assert report.html_path.name == "report.html" and report.markdown_path.name == "report.md"
    assert report.figure_ids == FIGURES
    for fig in FIGURES:
        assert f'<figure id="{fig}">' in html
        assert (report.html_path.parent / "figures" / f"{fig}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"(figures/{fig}.png)" in md


def test_html_is_self_contained(built):
    _, html, _ = built
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "DATA", html)
    assert "//" not in text  # no http://, https:// or protocol-relative URL outside the images
    assert "<script" not in text and "<link" not in text and "url(" not in text
    srcs = re.findall(r'src="([^"]*)"', html)
    assert len(srcs) == len(FIGURES)
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_alt_texts_describe_each_figure(built):
    _, html, _ = built
    alts = dict(re.findall(r'<figure id="([^"]+)"><h3>[^<]*</h3><img alt="([^"]*)"', html))
    assert alts["fig-learning-curves"] == (
        "Learning curves: mean training and validation loss and accuracy over epochs for each "
        "arm, best epoch "
        "marked (baseline: best epoch 10; dropout=0.1: best epoch 10; dropout=0.3: best epoch 30; "
        "weight_decay=0.01: best epoch 10; weight_decay=0.1: best epoch 30; l1=0.0001: best "
        "epoch 10)")
    assert alts["fig-gap"] == (
        "Train-validation accuracy gap of the final weights per arm: baseline +41.9 pts, "
        "dropout=0.1 +41.9 pts, dropout=0.3 +1.9 pts, weight_decay=0.01 +41.9 pts, "
        "weight_decay=0.1 +1.9 pts, l1=0.0001 +41.9 pts")
    assert alts["fig-sweep-weight-decay"] == (
        "Sweep plot: validation accuracy against weight_decay (log axis) for values 0, 0.01, 0.1; "
        "best at weight_decay=0.1")
    assert alts["fig-dropout-ablation"] == (
        "Dropout-rate ablation: validation and test accuracy and train-validation gap against "
        "the dropout rate for rates 0, 0.1, 0.3; best validation accuracy at rate 0.3")
    assert alts["fig-weight-hist"] == (
        "Weight histograms of the final weights: baseline (baseline, 1% near zero); l1=0.0001 "
        "(L1 0.0001, 40% near zero); weight_decay=0.1 (weight decay 0.1, 2% near zero)")


def _half(values):
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)


def test_findings_name_the_best_arm_and_its_interval(built):
    report, html, md = built
    best, base = [0.700, 0.710, 0.705], [0.660, 0.670, 0.650]
    ci = stats.ttest_rel(best, base).confidence_interval(0.95)  # the arms share seeds 0, 1, 2
    h = _half(best)
    expected = (
        "The best arm, chosen on validation accuracy (88.1% vs the baseline's 58.1%), is "
        f"dropout=0.3: test accuracy 70.5% (95% CI "
        f"{70.5 - 100 * h:.1f} to {70.5 + 100 * h:.1f}, 3 seeds), +4.5 points over the "
        f"baseline's 66.0%. The 95% interval of the difference ({100 * ci.low:+.1f} to "
        f"{100 * ci.high:+.1f} points, paired by seed, p = 0.048 Holm-adjusted over 5 arms) says "
        "the improvement is unlikely to be seed noise. Best at the largest dropout tried "
        "(dropout=0.3, chosen on validation): extend the grid upward. Best at the largest weight "
        "decay tried (weight_decay=0.1, chosen on validation): extend the grid upward. Diagnosis "
        "of the baseline (3 overfitting), seed 0: Overfitting: validation loss bottomed at 0.900 "
        "in epoch 10 and rose 89% by epoch 30 (1.700), with a train-val accuracy gap +42.0 pts for the "
        "final weights; stop near epoch 10 or regularize more."
    )
    assert report.findings == expected
    assert f'<p class="findings" id="findings">{expected}</p>' in html.replace("&#x27;", "'")
    assert expected in md


def test_markdown_table_and_diagnoses(built):
    _, _, md = built
    assert ("| baseline | none | 3 | 58.1 ± 0.2 | 66.0 ± 2.5 | 41.9 ± 0.2 | reference | - | "
            "3 overfitting |") in md
    assert ("| dropout=0.3 | dropout=0.3 | 3 | 88.1 ± 0.2 | 70.5 ± 1.2 | 1.9 ± 0.2 | "
            "+4.5 [+2.3, +6.7] | 0.048 | 3 good fit |") in md
    assert md.count("- **") == 18  # one diagnosis line per run
    assert md.startswith("# reglab report: demo\n\n6 arms, 18 runs. Data mnist1d; model mlp; "
                         "adamw lr 0.01; 30 epochs, batch 100; seeds 0, 1, 2.\n")


def test_html_table_marks_significant_effects(built):
    _, html, _ = built
    assert '<td class="num better">+4.5 [+2.3, +6.7]</td>' in html
    # weight_decay=0.1: its interval excludes zero but the Holm-adjusted p is 0.064
    assert '<td class="num">+3.4 [+1.2, +5.6]</td><td class="num">0.064</td>' in html


def test_single_seed_report_says_no_ci(tmp_path, scripted):
    runs = [scripted.make_run("baseline", 0, 0.66),
            scripted.make_run("stack", 0, 0.71, "good", dropout=0.2, weight_decay=0.05)]
    report = build_report(runs, tmp_path, title="one seed")
    assert report.figure_ids == ["fig-learning-curves", "fig-gap"]
    html = report.html_path.read_text()
    assert '<td class="num">66.0 (no CI, 1 seed)</td>' in html
    assert '<td class="num">+5.0 (no CI, 1 seed)</td>' in html
    assert report.findings.startswith(
        "The best arm, chosen on validation accuracy (88.0% vs the baseline's 58.0%), is stack "
        "(dropout=0.2, weight_decay=0.05): test accuracy 71.0% (1 seed, no CI), +5.0 points over "
        "the baseline's 66.0%. With a single seed on either side the "
        "interval of the difference is undefined; run at least 3 seeds per arm to tell an effect "
        "from noise.")
    assert ("No sweep or ablation figure: no regularization field takes two or more values with "
            "everything else equal.") in html
    assert ("No weight histograms: the runs did not record their final weights&#x27; "
            "distribution (stores written before reglab recorded it), or the study has no "
            "baseline to compare with.") in html
    assert "weight_hist" not in html  # no internal names in reader text


def test_missing_and_empty_stores_are_refused(tmp_path):
    with pytest.raises(StoreError) as exc:
        build_report(tmp_path / "nope.sqlite", tmp_path)
    assert str(exc.value) == (
        f"Run store '{tmp_path / 'nope.sqlite'}' not found. Expected the runs.sqlite file written "
        "by `reglab study` or `reglab sweep`. Received: a path that does not exist")
    assert not (tmp_path / "nope.sqlite").exists()  # never created by reading
    with pytest.raises(StoreError) as exc:
        build_report(tmp_path, tmp_path)
    assert str(exc.value) == (
        f"Run store '{tmp_path}' is not a file. Expected the runs.sqlite file written by "
        "`reglab study` or `reglab sweep`. Received: a directory")
    with pytest.raises(StoreError) as exc:
        build_report([], tmp_path)
    assert str(exc.value) == ("Run store 'runs' holds no completed runs. Expected at least one "
                              "completed run. Received: 0 runs, none completed")


def test_store_with_several_studies_needs_a_study(tmp_path, scripted):
    store = tmp_path / "runs.sqlite"
    scripted.write_store(store, [scripted.make_run("baseline", 0, 0.6)], study="a")
    scripted.write_store(store, [scripted.make_run("baseline", 0, 0.7)], study="b")
    with pytest.raises(ValueError) as exc:
        build_report(store, tmp_path)
    assert str(exc.value) == (
        f"Invalid value for argument `study`. Expected one of 'a', 'b' (the store '{store}' holds "
        "2 studies). Received: no --study")
    with pytest.raises(ValueError) as exc:
        build_report(store, tmp_path, study="c")
    assert str(exc.value) == ("Invalid value for argument `study`. Expected one of 'a', 'b'. "
                              "Received: study='c'")
    report = build_report(store, tmp_path, study="b")
    assert report.summaries[0].test_acc[0] == 0.7 and report.findings.startswith(
        "Only the baseline arm ran: test accuracy 70.0% (1 seed, no CI).")


def test_regression_study_compares_losses(tmp_path, scripted):
    """No accuracy anywhere: the report ranks arms by test loss (lower is better)."""
    from reglab.experiments.spec import RunSpec

    def run(arm, seed, test_loss, **reg):
        spec = RunSpec.from_dict({"arm": arm, "seed": seed, "regularization": reg})
        h = {"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6]}
        final = {"test_acc": None, "test_loss": test_loss, "train_loss": 0.3, "val_loss": 0.6,
                 "train_acc": None, "val_acc": None, "num_classes": 1}
        return scripted.FakeRun(spec.key(), spec, "completed", h, final, None)

    runs = [run("baseline", s, v) for s, v in enumerate([0.50, 0.52, 0.48])]
    runs += [run("dropout", s, v, dropout=0.1) for s, v in enumerate([0.40, 0.41, 0.39])]
    report = build_report(runs, tmp_path)
    base, drop = report.summaries
    assert base.metric == drop.metric == "loss" and math.isnan(base.test_acc[0])
    assert drop.effect[0] == pytest.approx(-0.1) and drop.significantly_better is True
    md = report.markdown_path.read_text()
    assert ("| Arm | Setting | Seeds | Val loss | Test loss | Gap (val - train loss) | Effect (loss) "
            "| p | Verdicts |") in md
    paired = stats.ttest_rel([0.40, 0.41, 0.39], [0.50, 0.52, 0.48])
    ci = paired.confidence_interval(0.95)
    assert f"{ci.low:+.2g}, {ci.high:+.2g}" == "-0.12, -0.075"
    assert ("| dropout | dropout=0.1 | 3 | 0.6 ± 0 | 0.4 ± 0.025 | 0.3 ± 0 | -0.1 [-0.12, -0.075] "
            f"| {paired.pvalue:.3f} |") in md
    assert report.findings.startswith(
        "The best arm, chosen on validation loss (0.6 vs the baseline's 0.6), is dropout "
        "(dropout=0.1): test loss 0.4 (95% CI 0.375 to 0.425, 3 seeds), -0.1 vs the baseline's "
        "0.5. The 95% interval of the difference (-0.12 to -0.075, paired by seed, "
        f"p = {paired.pvalue:.3f}) says the improvement is unlikely to be seed noise.")
    html = report.html_path.read_text()
    assert '<td class="num better">-0.1 [-0.12, -0.075]</td>' in html
    assert report.figure_ids == ["fig-learning-curves", "fig-gap", "fig-dropout-ablation"]
    assert ('img alt="Validation-train loss gap of the final weights per arm: baseline +0.300, '
            'dropout +0.300"') in html


def test_best_arm_is_chosen_on_validation_when_test_disagrees(tmp_path, scripted):
    """weight_decay has the best test accuracy but the worse validation accuracy: the report
    names dropout (best on validation) and shows both columns side by side."""
    runs = [scripted.make_run("baseline", s, 0.60) for s in range(3)]
    runs += [scripted.make_run("weight_decay", s, 0.75 + 0.01 * s, weight_decay=0.1)
             for s in range(3)]  # overfit curves: validation accuracy 58.1%
    runs += [scripted.make_run("dropout", s, 0.70 + 0.01 * s, "good", dropout=0.2)
             for s in range(3)]  # good curves: validation accuracy 88.1%
    store = tmp_path / "runs.sqlite"
    scripted.write_store(store, runs, study="disagree")
    report = build_report(store, tmp_path)
    assert report.findings.startswith(
        "The best arm, chosen on validation accuracy (88.1% vs the baseline's 58.1%), is dropout "
        "(dropout=0.2): test accuracy 71.0%")
    md = report.markdown_path.read_text()
    assert "| weight_decay | weight_decay=0.1 | 3 | 58.1 ± 0.2 | 76.0 ± 2.5 |" in md
    assert "| dropout | dropout=0.2 | 3 | 88.1 ± 0.2 | 71.0 ± 2.5 |" in md
    assert "Choose on Val acc; Test acc is read once." in md

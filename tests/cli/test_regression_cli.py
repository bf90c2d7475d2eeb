"""A regression study and `reglab uncertainty` on it, through typer's CliRunner: the table shows
RMSE and log-likelihood computed from the stored runs, the uncertainty command prints RMSE,
log-likelihood, coverage and tau equal to the library's, and bad input is one red line."""

from __future__ import annotations

import math
import re

import pytest
from typer.testing import CliRunner

from reglab.analysis import diagnose, mean_ci
from reglab.cli import app
from reglab.experiments.store import RunStore
from reglab.report.table import fmt_loss_ci
from reglab.studies.uncertainty_regression import evaluate_regression_uncertainty, regression_rows


def _cells(out: str, first: str) -> list[str]:
    rows = [[c.strip() for c in re.split(r"[│┃]", line.strip("│┃ "))] for line in out.splitlines()
            if line.startswith(("│", "┃"))]
    return next(r for r in rows if r[0] == first)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("reg") / "out"
    args = ["study", "--dataset", "diabetes", "--arms", "baseline,dropout", "--epochs", "3", "--seeds", "2",
            "--batch-size", "50", "--runner", "processes", "--workers", "1", "--out", str(out), "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    with RunStore(out / "runs.sqlite") as store:
        runs = store.runs("default")
    return out, result.stdout, runs


def test_regression_study_stores_rmse_and_reports_it(study):
    out, stdout, runs = study
    assert len(runs) == 4
    for run in runs:
        f = run.final
        assert f["test_rmse"] == pytest.approx(math.sqrt(f["test_loss"]), rel=1e-12)
        assert f["val_rmse"] == pytest.approx(math.sqrt(f["val_loss"]), rel=1e-12)
        assert f["test_acc"] is None and math.isfinite(f["test_ll"])
        assert run.diagnosis == diagnose(run.history, run.final, num_classes=1).to_dict()
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "reglab report" in line)  # the title, then the header
    rule = next(i for i in range(start, len(lines)) if lines[i].startswith("─"))
    header = " ".join(lines[start + 1:rule]).split()  # a narrow column's header may take two lines
    assert sorted(header) == sorted(["Arm", "Val", "RMSE", "Test", "RMSE", "Test", "log-lik.", "Effect",
                                     "(RMSE)", "(p)", "Verdicts"])
    base = [r for r in runs if r.spec.arm == "baseline"]
    at = next(i for i, line in enumerate(lines) if line.startswith("baseline"))
    row = lines[at] + "\n" + lines[at + 1]  # means, then their half-widths under them
    for values in ([r.final["test_rmse"] for r in base], [r.final["test_ll"] for r in base]):
        mean, half = fmt_loss_ci(mean_ci(values)).split(" ± ")
        assert f" {mean} " in lines[at] and f"± {half}" in lines[at + 1], row
    md = (out / "report.md").read_text()
    assert "| Arm | Setting | Seeds | Val RMSE | Test RMSE | Test log-lik. | Effect (RMSE) | p | Verdicts |" in md


def test_uncertainty_on_the_regression_store(study, tmp_path):
    out, _, runs = study
    result = CliRunner().invoke(app, ["uncertainty", "--store", str(out / "runs.sqlite"), "--samples", "20",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    stdout = result.stdout
    run = next(r for r in runs if r.spec.arm == "dropout" and r.spec.seed == 0)
    lib = evaluate_regression_uncertainty(run.spec, samples=20, seed=0)
    assert lib.deterministic.rmse == pytest.approx(run.final["test_rmse"], rel=1e-6)  # re-trained exactly
    for row in regression_rows(lib):
        assert _cells(stdout, row[0]) == list(row)
    assert [r[0] for r in regression_rows(lib)] == ["RMSE", "log-likelihood (nats)", "68% interval coverage",
                                                    "95% interval coverage"]
    assert (f"tau = {lib.tau:.4g} (noise std {lib.tau ** -0.5:.4g}), chosen on the validation split; eval mode "
            f"uses the validation RMSE {lib.sigma:.4g} as its noise std.") in stdout
    assert f"Stored test RMSE {run.final['test_rmse']:.4g}, re-trained {lib.deterministic.rmse:.4g}." in stdout
    assert "ECE" not in stdout
    assert (tmp_path / "uncertainty.md").read_text().startswith("# MC dropout regression: dropout seed 0 on diabetes")


def test_regression_uncertainty_errors():
    result = CliRunner().invoke(app, ["uncertainty", "--dataset", "diabetes", "--dropout", "0", "--epochs", "1"])
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "Error: Run 'dropout=0' (seed 0) has no dropout layer, so MC dropout has nothing to sample. Expected a run "
        "trained with dropout > 0 (e.g. the study arm 'dropout', or --dropout 0.2 for a fresh run). Received: "
        "regularization.dropout=0.0\n")
    result = CliRunner().invoke(app, ["uncertainty", "--dataset", "diabetes", "--loss", "l1", "--epochs", "1"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("Error: Invalid value for argument `loss`. Expected one of ")

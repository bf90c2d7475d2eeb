"""Bounds before training (issue 12, item 6): plan size, memory, workers, --yes."""

from __future__ import annotations

import io

import pytest
import torch
from rich.console import Console
from typer.testing import CliRunner

from reglab.cli import app
from reglab.errors import ConfigError
from reglab.experiments import bounds
from reglab.experiments.config import SweepConfig, load_config
from reglab.experiments.execute import build_model, load_splits
from reglab.experiments.plan import plan
from reglab.experiments.spec import ModelSpec, RunSpec
from reglab.studies.study import run_study


def test_count_runs_without_building_specs():
    study = load_config("study", overrides={"seeds": 4})
    assert bounds.count_runs(study) == len(plan(study)) == 24  # 6 default arms x 4 seeds
    sweep = load_config("sweep", overrides={"seeds": 2}, grid=["dropout=0,0.1,0.2", "weight_decay=0,1e-3"])
    assert bounds.count_runs(sweep) == len(plan(sweep)) == 12


def test_million_point_grid_is_refused_before_any_spec_is_built(monkeypatch):
    values = ",".join(str(i / 1000) for i in range(100))
    config = load_config("sweep", overrides={"seeds": 1}, grid=[f"dropout={values}", f"l1={values}", f"l2={values}"])

    def boom(self):
        raise AssertionError("grid points materialised")

    monkeypatch.setattr(SweepConfig, "grid_points", boom)
    with pytest.raises(ConfigError) as exc:
        plan(config)
    assert str(exc.value) == ("Invalid value for argument `plan`. Expected at most 100,000 runs (grid points x seeds). "
                              "Received: 1,000,000 runs (1,000,000 grid points x 1 seeds)")


def test_footprint_matches_the_real_model():
    spec = RunSpec(batch_size=50)
    info = load_splits(spec.data).info
    fp = bounds.model_footprint(spec, info)
    torch.manual_seed(0)
    model = build_model(spec.model, info)
    assert fp.params == sum(p.numel() for p in model.parameters()) == 15210
    assert fp.param_bytes == 15210 * 4 * 4  # float32 weights, grads and AdamW's two moments
    sizes = []
    hooks = [m.register_forward_hook(lambda m, i, o: sizes.append(o.numel() * o.element_size()))
             for m in model.modules() if not list(m.children())]
    model(torch.randn(50, *info.input_shape))
    for h in hooks:
        h.remove()
    assert fp.activation_bytes == sum(sizes) > 0
    sgd = RunSpec(batch_size=50, optimizer={"name": "sgd", "momentum": 0.0})
    assert bounds.model_footprint(sgd, info).param_bytes == 15210 * 4 * 2


def test_huge_model_is_refused_without_allocating():
    spec = RunSpec(model=ModelSpec(name="mlp", options={"width": 1_000_000}))
    info = load_splits(spec.data).info
    fp = bounds.model_footprint(spec, info)  # meta device: instant, no memory
    assert fp.params == 40 * 10**6 + 10**6 + 10**12 + 10**6 + 10 * 10**6 + 10
    with pytest.raises(ConfigError) as exc:
        bounds.check_memory(fp, "mlp", available=8 * 2**30)
    assert str(exc.value) == (
        "Invalid value for argument `model.options`. Expected a model whose training fits in the 8.0 GiB of memory "
        f"available. Received: model 'mlp' with {fp.params:,} parameters needs about "
        f"{bounds.format_bytes(fp.total_bytes)} (weights, gradients, optimizer state and one batch's activations)")


def test_workers_capped_at_the_cores():
    assert bounds.cap_workers(2, 4) == (2, None)
    assert bounds.cap_workers(64, 2) == (2, "--workers 64 is more than the 2 CPU cores available; using 2 (one "
                                              "single-threaded worker per core is fastest for small models).")


def test_confirmation_thresholds():
    bounds.check_confirmed(1000, 200, yes=False)  # exactly 200,000 run-epochs: no question
    with pytest.raises(ConfigError) as exc:
        bounds.check_confirmed(1000, 201, yes=False)
    assert str(exc.value) == ("Invalid value for argument `--yes`. Expected --yes to start a plan of more than 200,000 "
                              "run-epochs (runs x epochs). Received: 1,000 runs x 201 epochs = 201,000 run-epochs "
                              "without --yes")
    bounds.check_confirmed(1000, 201, yes=True)
    bounds.check_samples_confirmed(10_000, yes=False)
    with pytest.raises(ConfigError):
        bounds.check_samples_confirmed(10_001, yes=False)


@pytest.mark.parametrize(("args", "message"), [
    (["study", "--epochs", "1000000000"],
     "Invalid value for argument `--yes`. Expected --yes to start a plan of more than 200,000 run-epochs (runs x "
     "epochs). Received: 18 runs x 1,000,000,000 epochs = 18,000,000,000 run-epochs without --yes"),
    (["study", "--seeds", "100000"],
     "Invalid value for argument `plan`. Expected at most 100,000 runs (arms x seeds). Received: 600,000 runs "
     "(6 arms x 100,000 seeds)"),
    (["uncertainty", "--samples", "1000000000"],
     "Invalid value for argument `--yes`. Expected --yes to run more than 10,000 MC dropout passes. Received: "
     "--samples 1,000,000,000 without --yes"),
])
def test_cli_asks_for_yes_or_refuses(args, message, tmp_path):
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {message}\n"


def test_study_prints_its_size_before_training(tmp_path):
    config = load_config("study", overrides={"epochs": 2, "seeds": 1, "train_size": 200, "batch_size": 50,
                                             "runner": "processes", "workers": 1, "arms": ["baseline", "dropout"],
                                             "out": str(tmp_path)})
    buffer = io.StringIO()
    run_study(config, report=False, console=Console(file=buffer, width=400))
    lines = buffer.getvalue().splitlines()
    plan_line = next(line for line in lines if line.startswith("Plan: "))
    assert lines.index(plan_line) == 1  # right after the "runs planned" line, before any run
    assert plan_line.startswith("Plan: 2 runs to train, 4 run-epochs on 1 worker(s); largest model 15,210 parameters, "
                                "about ")
    assert "; at most about " in plan_line

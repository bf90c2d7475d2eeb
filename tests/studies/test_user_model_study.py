"""A model reglab did not build, through run_one, run_study and the CLI: every arm, errors, the report."""

from __future__ import annotations

import math
import os
import sys

import pytest
import torch
from rich.console import Console
from torch import nn
from typer.testing import CliRunner

import reglab.nn as RN
from reglab.cli import app
from reglab.experiments.config import StudyConfig
from reglab.experiments.execute import run_one, train
from reglab.experiments.spec import DataSpec, EarlyStoppingSpec, ModelSpec, RegularizationSpec, RunSpec
from reglab.experiments.store import RunStore
from reglab.studies.study import run_study
from reglab.models import register, unregister
from reglab.retrofit import DropoutAfter


class ResidualMLP(nn.Module):
    """A user's tabular net: one residual block with its own DropPath (rate 0 as built), no dropout."""

    def __init__(self, n_in: int, n_out: int, width: int = 16) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(n_in, width), nn.ReLU())
        self.block = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
        self.drop_path = RN.DropPath(0.0)
        self.head = nn.Linear(width, n_out)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.stem(x)
        h = torch.relu(h + self.drop_path(self.block(h)))
        return self.head(h), h  # (logits, features): the tuple rule takes the first


def residual_mlp(input_shape, num_classes, **options):
    return ResidualMLP(input_shape[0], num_classes, **options)


NAME = "test_user_residual_mlp"
TUPLE_RULE = "output: its forward returns a tuple: the logits are its first element."
DATA = DataSpec(name="blobs", train_size=200)


@pytest.fixture(autouse=True)
def registered_model():
    register(NAME, residual_mlp)
    yield
    unregister(NAME)


def spec(arm: str = "baseline", **reg) -> RunSpec:
    return RunSpec(arm=arm, seed=0, epochs=3, batch_size=50, data=DATA, model=ModelSpec(name=NAME),
                   regularization=RegularizationSpec(**reg))


@pytest.fixture(scope="module")
def baseline_history():
    register(NAME, residual_mlp)
    return run_one(spec()).history


@pytest.mark.parametrize(
    ("reg", "retrofit"),
    [
        (dict(dropout=0.3), ["dropout=0.3: the model has no dropout module; inserted reglab.nn.Dropout(0.3) after "
                             "the 2 activations feeding a Linear layer: stem.1, block.1."]),
        (dict(drop_path=0.2), ["drop_path=0.2: set the model's 1 stochastic-depth module with the linear depth "
                               "rule: drop_path=0.2."]),
        (dict(weight_decay=0.5), ["weight_decay=0.5: decoupled decay on 4 weight tensors; 4 bias/norm/embedding "
                                  "tensors not decayed (penalties.param_groups)."]),
        (dict(label_smoothing=0.2), []),
        (dict(mixup_alpha=0.4), []),
        (dict(input_noise=0.5), []),
        (dict(l1=1e-2), []),
        (dict(grad_clip=0.01), []),
    ],
)
def test_each_arm_trains_a_user_model_differently_from_the_baseline(reg, retrofit, baseline_history):
    result = run_one(spec("arm", **reg))
    assert result.final["retrofit"] == [TUPLE_RULE, *retrofit]
    assert all(math.isfinite(v) for v in result.history["train_loss"])
    assert result.history["train_loss"] != baseline_history["train_loss"]  # the technique acted
    assert result.final["test_acc"] is not None and 0.0 <= result.final["test_acc"] <= 1.0


def test_max_norm_constrains_the_user_models_linear_rows():
    model, history, _ = train(spec("max_norm", max_norm=0.5), device="cpu", progress=False)
    for layer in [m for m in model.modules() if isinstance(m, nn.Linear)]:
        assert layer.weight.norm(dim=1).max().item() <= 0.5 + 1e-5


def test_early_stopping_restores_the_best_epoch_of_a_user_model():
    result = run_one(spec("early_stopping", early_stopping=EarlyStoppingSpec(patience=0)).model_copy(
        update={"epochs": 20}))
    best, stopped = result.final["best_epoch"], result.final["stopped_epoch"]
    assert best < stopped <= 20
    assert result.final["val_loss"] == pytest.approx(result.history["val_loss"][best - 1], rel=1e-5)


def test_dropout_inserted_in_the_trained_model(baseline_history):
    model, _, _ = train(spec("dropout", dropout=0.3), device="cpu", progress=False)
    inner = model.model  # LogitsOf: the forward returns a tuple
    assert [n for n, m in inner.named_modules() if isinstance(m, DropoutAfter)] == ["stem.1", "block.1"]


def test_study_of_a_registered_model_reports_the_rules(tmp_path):
    config = StudyConfig(name="mine", out=str(tmp_path / "out"), epochs=2, seeds=1, batch_size=50, data=DATA,
                         model=ModelSpec(name=NAME), arms=["baseline", "dropout", "drop_path"])
    summary = run_study(config, workers=1, console=Console(file=open(os.devnull, "w")))  # noqa: SIM115
    assert (summary.completed, summary.failed, summary.runner) == (3, [], "processes")
    with RunStore(summary.store_path) as store:
        by_arm = {r.spec.arm: r.final["retrofit"] for r in store.runs("mine")}
    assert by_arm["baseline"] == [TUPLE_RULE]
    assert by_arm["dropout"][1].startswith("dropout=0.2: the model has no dropout module; inserted")
    report = summary.report.markdown_path.read_text()
    assert ("- dropout on your model: output: its forward returns a tuple: the logits are its first element. "
            "dropout=0.2: the model has no dropout module; inserted reglab.nn.Dropout(0.2) "
            "after the 2 activations feeding a Linear layer: stem.1, block.1.") in report
    assert f"- baseline on your model: {TUPLE_RULE}" in report


def test_a_lambda_factory_trains_in_process_with_the_reason(tmp_path):
    register("test_user_lambda", lambda shape, n: nn.Sequential(nn.Linear(shape[0], 8), nn.ReLU(), nn.Linear(8, n)))
    try:
        config = StudyConfig(name="lam", out=str(tmp_path / "out"), epochs=1, seeds=2, batch_size=50, data=DATA,
                             model=ModelSpec(name="test_user_lambda"), arms=["baseline"])
        summary = run_study(config, workers=2, console=Console(file=open(os.devnull, "w")), report=False)  # noqa: SIM115
    finally:
        unregister("test_user_lambda")
    assert summary.completed == 2
    assert summary.runner_reason.endswith(
        "; the registered model factory 'test_user_lambda' cannot be sent to worker processes (a lambda, a "
        "closure or a function of __main__): its runs train in this process, one after another")


# ----------------------------------------------------------------------------- CLI

USER_FILE = '''
import torch
from torch import nn
import reglab.nn as RN

class Net(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.fc = nn.Linear(n_in, 16)
        self.dropout = nn.Dropout(0.1)
        self.out = nn.Linear(16, n_out)

    def forward(self, x):
        return {"logits": self.out(self.dropout(torch.relu(self.fc(x)))), "hidden": x}

def build(input_shape, num_classes):
    return Net(input_shape[0], num_classes)

def wrong_classes(input_shape, num_classes):
    return nn.Linear(input_shape[0], num_classes + 2)

def broken(input_shape, num_classes):
    raise ValueError("no GPU here")
'''
runner = CliRunner()
TINY = ["--dataset", "blobs", "--train-size", "200", "--epochs", "2", "--seeds", "1", "--batch-size", "50",
        "--runner", "processes", "--workers", "1"]


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    name = f"user_cli_{abs(hash(str(tmp_path))) % 10**8}"
    (tmp_path / f"{name}.py").write_text(USER_FILE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield name
    sys.modules.pop(name, None)


def test_cli_study_of_an_import_string_names_the_dropout_modules_it_changed(user_dir, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["study", "--model", f"{user_dir}:build", "--arms", "baseline,dropout=0.3",
                                 "--out", str(out), "--quiet", *TINY])
    assert result.exit_code == 0, result.output
    report = (out / "report.md").read_text()
    rule = "output: its forward returns a dict: the logits are its 'logits' entry."
    assert (f"- dropout=0.3 on your model: {rule} dropout=0.3: set the rate of the model's 1 dropout module "
            "(dropout) from 0.1 to 0.3.") in report
    assert (f"- baseline on your model: {rule} dropout not set by this arm: the model's own 1 dropout module "
            "(dropout) keeps its rate (0.1).") in report
    # the terminal says the same, under the table
    lines = result.stdout.splitlines()
    at = lines.index("Applied to your model:")
    assert lines[at + 1:at + 3] == [
        f"  baseline on your model: {rule} dropout not set by this arm: the model's own 1 dropout module (dropout) "
        "keeps its rate (0.1).",
        f"  dropout=0.3 on your model: {rule} dropout=0.3: set the rate of the model's 1 dropout module (dropout) "
        "from 0.1 to 0.3."]


@pytest.mark.parametrize(
    ("model", "arms", "message"),
    [
        ("nosuchmodule_xyz:build", "baseline",
         "Invalid value for argument `model`. Expected an import string 'package.module:factory' whose module can "
         "be imported (no module named 'nosuchmodule_xyz'). Received: model='nosuchmodule_xyz:build'"),
        ("{m}:nope", "baseline",
         "Invalid value for argument `model`. Expected an import string 'package.module:factory' naming an attribute "
         "of the module (module '{m}' has no attribute 'nope'). Received: model='{m}:nope'"),
        ("{m}:broken", "baseline",
         "Invalid value for argument `model`. Expected a factory that builds the model (calling it raised "
         "ValueError: no GPU here). Received: model='{m}:broken'"),
        ("{m}:wrong_classes", "baseline",
         "Invalid value for argument `model`. Expected a model whose output has shape (batch, 3) for the data's 3 "
         "classes. Received: model='{m}:wrong_classes' with output shape (2, 5) for a batch of 2"),
        ("{m}:build", "baseline,drop_path",
         "Invalid value for argument `drop_path`. Expected a model with residual blocks holding "
         "DropPath/StochasticDepth modules (no residual blocks found in model '{m}:build'). Received: drop_path=0.1"),
    ],
)
def test_cli_bad_user_models_fail_before_the_store_is_written(user_dir, tmp_path, model, arms, message):
    out = tmp_path / "out"
    result = runner.invoke(app, ["study", "--model", model.format(m=user_dir), "--arms", arms, "--out", str(out),
                                 *TINY])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"Error: {message.format(m=user_dir)}\n"
    assert not (out / "runs.sqlite").exists()


def test_cli_model_output_names_the_entry(user_dir, tmp_path):
    result = runner.invoke(app, ["study", "--model", f"{user_dir}:build", "--model-output", "hidden", "--print-config"])
    assert result.exit_code == 0, result.output
    assert f'[model]\nname = "{user_dir}:build"\noutput = "hidden"\n' in result.stdout
    out = tmp_path / "out"
    result = runner.invoke(app, ["study", "--model", f"{user_dir}:build", "--model-output", "hidden",
                                 "--arms", "baseline", "--out", str(out), *TINY])
    assert result.exit_code == 2  # 'hidden' is the (batch, 2) input: not the 3 classes
    assert result.stderr == (
        f"Error: Invalid value for argument `model`. Expected a model whose output has shape (batch, 3) for the "
        f"data's 3 classes. Received: model='{user_dir}:build' with output shape (2, 2) for a batch of 2\n")


def test_toml_factory_key(tmp_path, user_dir):
    path = tmp_path / "s.toml"
    path.write_text(f'[model]\nfactory = "{user_dir}:build"\n')
    result = runner.invoke(app, ["study", "--config", str(path), "--print-config"])
    assert result.exit_code == 0, result.output
    assert f'[model]\nname = "{user_dir}:build"\n' in result.stdout


def test_mc_dropout_sees_the_logits_of_a_tuple_model():
    from reglab.studies.uncertainty import evaluate_uncertainty

    s = spec("dropout", dropout=0.3)
    result = evaluate_uncertainty(s, samples=5, top_k=3)
    stored = run_one(s).final
    # eval-mode predictions of the same trained weights: the accuracy run_one measured on test
    assert result.deterministic.accuracy == pytest.approx(stored["test_acc"])
    assert 0.0 <= result.mc.accuracy <= 1.0 and len(result.uncertain) == 3


@pytest.mark.slow
def test_a_registered_module_level_factory_reaches_spawned_workers(tmp_path):
    config = StudyConfig(name="spawned", out=str(tmp_path / "out"), epochs=1, seeds=2, batch_size=50, data=DATA,
                         model=ModelSpec(name=NAME), arms=["baseline"])
    summary = run_study(config, workers=2, console=Console(file=open(os.devnull, "w")), report=False)  # noqa: SIM115
    assert (summary.completed, summary.failed) == (2, [])
    assert "in this process" not in summary.runner_reason
    with RunStore(summary.store_path) as store:
        assert [r.final["retrofit"] for r in store.runs("spawned")] == [[TUPLE_RULE], [TUPLE_RULE]]

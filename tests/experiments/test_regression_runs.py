"""Regression runs end to end: standardised targets for training, MSE/RMSE/log-likelihood on the
original scale, the Gaussian NLL option, a regression study in the store, and the spec field."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reglab.analysis import quantities as Q
import torch
from scipy.stats import norm

from reglab.errors import ConfigError
from reglab.experiments.execute import run_one, train
from reglab.experiments.regression import predict_original, target_scale
from reglab.experiments.spec import RunSpec

TINY = {"epochs": 3, "batch_size": 50, "data": {"name": "diabetes"}}


def _spec(**extra) -> RunSpec:
    return RunSpec.from_dict({**TINY, **extra})


def test_mse_run_reports_rmse_and_log_likelihood_on_the_original_scale():
    spec = _spec(regularization={"dropout": 0.1})
    result = run_one(spec)
    f = result.final
    model, history, splits = train(spec, device="cpu", progress=False)  # same seed: same weights
    mean, var = predict_original(model, splits.x_test, target_scale(splits))
    y = splits.y_test.double()
    assert var is None
    assert f["test_loss"] == pytest.approx(float(((mean - y) ** 2).mean()), rel=1e-9)
    assert f["test_rmse"] == pytest.approx(math.sqrt(f["test_loss"]), rel=1e-12)
    assert f["sigma"] == pytest.approx(f["val_rmse"], rel=1e-12)  # homoscedastic noise: validation RMSE
    ref_ll = norm.logpdf(y.numpy(), mean.numpy(), f["sigma"]).mean()
    assert f["test_ll"] == pytest.approx(ref_ll, rel=1e-9)
    assert f["test_acc"] is None and f["num_classes"] == 1
    assert Q.gap(f) == pytest.approx(f["val_loss"] - f["train_loss"])  # the one gap definition: loss gap
    # The history holds losses on standardised targets: the last validation MSE times std^2 is
    # the final validation MSE in the target's units (no early stopping: the same weights).
    m, s = target_scale(splits)
    assert m == pytest.approx(float(splits.y_train.double().mean()))
    assert history["val_loss"][-1] * s * s == pytest.approx(f["val_loss"], rel=1e-5)
    assert 40 < f["test_rmse"] < 200  # diabetes targets are 25-346


def test_gaussian_nll_run_has_two_outputs_and_its_own_variance():
    spec = _spec(loss="gaussian_nll")
    result = run_one(spec)
    model, _, splits = train(spec, device="cpu", progress=False)
    assert model(splits.x_test[:4]).shape == (4, 2)
    mean, var = predict_original(model, splits.x_test, target_scale(splits))
    y = splits.y_test.double().numpy()
    f = result.final
    assert f["sigma"] is None
    assert f["test_ll"] == pytest.approx(norm.logpdf(y, mean.numpy(), np.sqrt(var.numpy())).mean(), rel=1e-9)
    assert f["test_rmse"] == pytest.approx(math.sqrt(f["test_loss"]), rel=1e-12)
    # the history's loss is the Gaussian NLL on standardised targets (can be any real number)
    assert all(math.isfinite(v) for v in result.history["train_loss"])


def test_loss_field_round_trips_and_leaves_old_keys_alone():
    plain = _spec()
    assert "loss" not in plain.to_dict()
    assert plain.key() == RunSpec.from_dict({k: v for k, v in plain.to_dict().items()}).key()
    nll = _spec(loss="gaussian_nll")
    assert RunSpec.from_dict(nll.to_dict()) == nll and nll.key() != plain.key()
    with pytest.raises(ValueError, match="loss"):
        _spec(loss="mae")


def test_regression_loss_on_a_classifier_is_refused():
    spec = RunSpec.from_dict({"epochs": 1, "data": {"name": "blobs", "options": {"n_samples": 100}},
                              "loss": "mse"})
    with pytest.raises(ConfigError) as err:
        run_one(spec)
    assert str(err.value) == ("Run 'baseline' sets loss='mse' on a classification dataset. Expected no loss "
                              "(cross-entropy) for classification; 'mse' and 'gaussian_nll' are regression "
                              "losses. Received: loss='mse'")


def test_boston_is_a_regression_dataset_from_mlxtend():
    from reglab.data import load

    splits = load("boston", seed=0)
    assert splits.info.task == "regression" and splits.info.input_shape == (13,)
    assert (splits.info.n_train + splits.info.n_val, splits.info.n_test) == (405, 101)
    assert splits.y_train.dtype == torch.float32
    all_y = torch.cat([splits.y_train, splits.y_val, splits.y_test])
    assert float(all_y.min()) == 5.0 and float(all_y.max()) == 50.0 and float(all_y.mean()) == pytest.approx(22.5328, abs=1e-4)


def test_boston_without_mlxtend_names_the_extra(monkeypatch):
    import sys

    from reglab.data import load
    from reglab.errors import DataUnavailableError

    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(DataUnavailableError) as err:
        load("boston")
    assert str(err.value) == ("Dataset 'boston' needs the optional extra mlxtend, which is not installed. "
                              "Install it with: pip install 'reglab[mnist5k]'")


def test_classification_only_techniques_are_refused_on_regression():
    spec = _spec(arm="mixup", regularization={"mixup_alpha": 0.2})
    with pytest.raises(ConfigError) as err:
        run_one(spec)
    assert str(err.value) == ("Run 'mixup' sets regularization.mixup_alpha on a regression dataset. Expected "
                              "mixup_alpha unset: it acts on class labels or logits. Received: "
                              "regularization.mixup_alpha=0.2")


def test_early_stopping_arm_monitors_the_validation_loss_in_regression():
    spec = _spec(arm="early_stopping", epochs=30,
                 regularization={"early_stopping": {"monitor": "val_acc", "mode": "max", "patience": 2}})
    result = run_one(spec)
    val = result.history["val_loss"]
    best = result.history["best_epoch"]
    assert best == 1 + min(range(len(val)), key=lambda i: val[i])  # the lowest validation loss
    assert result.history["stopped_epoch"] == best + 2 < 30  # stopped `patience` epochs later


def test_study_config_loss_reaches_every_spec_and_round_trips_through_toml(tmp_path):
    from reglab.experiments.config import load_config, to_toml
    from reglab.experiments.plan import plan

    config = load_config("study", overrides={"dataset": "boston", "loss": "gaussian_nll",
                                             "arms": ["baseline", "dropout"], "seeds": 2})
    specs = plan(config)
    assert [s.loss for s in specs] == ["gaussian_nll"] * 4
    path = tmp_path / "study.toml"
    path.write_text(to_toml(config))
    assert load_config("study", path=path) == config
    plain = load_config("study", overrides={"dataset": "boston"})
    assert plain.loss is None and all(s.loss is None for s in plan(plain))
    assert 'loss = "gaussian_nll"' in to_toml(config) and "loss" not in to_toml(plain).split("[")[0]

"""recommend(): argument checks, verdicts, the current regularization, store evidence, the
emitted study. The recipes' scenarios are in test_recommend_scenarios.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from reglab.analysis.effects import summarize_arms
from reglab.analysis.recommend import (
    SOURCES,
    family_of_model,
    modality_of_dataset,
    observed_verdict,
    recommend,
    study_config,
    study_toml,
)
from reglab.experiments.config import load_config
from reglab.experiments.spec import RunSpec


def _scripted():
    name = "reglab_tests_scripted_runs"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "report" / "scripted_runs.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def names(rec):
    return [s.technique for s in rec.steps]


@pytest.mark.parametrize(
    ("train", "val", "k", "verdict"),
    [(1.0, 0.90, 10, "overfitting"), (1.0, 0.9001, 10, "mild overfitting"),
     (0.95, 0.9001, 10, "good fit"), (0.73, 0.72, 10, "good fit"), (0.72, 0.71, 10, "underfitting"),
     (0.84, 0.84, 2, "underfitting"), (0.86, 0.86, 2, "good fit")],
)
def test_observed_verdict_thresholds(train, val, k, verdict):
    # skill = (acc - 1/K) / (1 - 1/K): 0.73 -> 0.7 at K=10; 0.85 -> 0.7 at K=2
    assert observed_verdict(train, val, k) == verdict


def test_family_of_model_names():
    assert [family_of_model(m) for m in ("resnet", "ResNet50", "cnn1d", "lstm", "bert", "vit", "mlp")] == [
        "cnn", "cnn", "cnn", "rnn", "transformer", "transformer", "mlp"]


def test_modality_of_builtin_datasets():
    assert [modality_of_dataset(n) for n in ("cifar10", "digits", "mnist1d", "wine", "my.csv")] == [
        "image", "image", "signal", "tabular", None]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(family="svm"), "Invalid value for argument `family`. Expected one of 'mlp', 'cnn', "
                             "'transformer', 'rnn'. Received: family='svm'"),
        (dict(n_train=0), "Invalid value for argument `n_train`. Expected an integer >= 1. "
                          "Received: n_train=0"),
        (dict(num_classes=1), "Invalid value for argument `num_classes`. Expected an integer >= 2. "
                              "Received: num_classes=1"),
        (dict(n_params=-5), "Invalid value for argument `n_params`. Expected an integer >= 1. "
                            "Received: n_params=-5"),
        (dict(train_acc=1.0), "Invalid value for argument `val_acc`. Expected a number in [0, 1] "
                              "(give train_acc and val_acc together). Received: val_acc=None"),
        (dict(train_acc=1.5, val_acc=0.5), "Invalid value for argument `train_acc`. Expected a "
                                           "number in [0, 1]. Received: train_acc=1.5"),
        (dict(modality="audio"), "Invalid value for argument `modality`. Expected one of 'image', "
                                 "'text', 'tabular', 'signal'. Received: modality='audio'"),
        (dict(task="detection"), "Invalid value for argument `task`. Expected one of "
                                 "'classification', 'language_model', 'regression'. Received: task='detection'"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = dict(family="mlp", n_train=100, num_classes=10, n_params=1000)
    args.update(kwargs)
    with pytest.raises(ValueError) as exc:
        recommend(**args)
    assert str(exc.value) == message


def test_every_step_cites_a_known_source():
    known = set(SOURCES.values())
    rec = recommend("resnet50", 5000, 50, 25_000_000, 0.98, 0.71)
    for step in rec.steps:
        assert step.source and set(step.source.split("; ")) <= known


def test_far_too_large_tabular_model_warns_with_a_size():
    rec = recommend("mlp", 500, 10, 2_000_000, train_acc=1.0, val_acc=0.5)
    assert rec.warnings == [
        "The model is far too large for the data trained from scratch: 2,000,000 parameters for "
        "500 training examples (4,000.0 per example), above 1,000. It can memorise the training "
        "set outright (Zhang et al. 2017) and regularization only partly compensates; use a model "
        "under 50,000 parameters (100 per example) or collect more data."]
    assert recommend("mlp", 500, 10, 500_000).warnings == []  # 1,000 per example: not above
    assert recommend("mlp", 500, 10, 2_000_000, fine_tuning=True).warnings == []


def test_without_accuracies_the_size_decides():
    rec = recommend("mlp", 1000, 10, 50_000)
    assert rec.verdict == "unknown"
    assert rec.summary == (
        "No accuracies observed; with 50,000 parameters for 1,000 training examples (50.0 per "
        "example), overfitting is likely. Small tabular data: weight decay and early stopping "
        "first, then dropout and a smaller model.")


CURRENT = RunSpec.from_dict({"regularization": {
    "dropout": 0.2, "weight_decay": 0.05,
    "early_stopping": {"monitor": "val_acc", "mode": "max", "patience": 20}}}
).regularization.model_dump(mode="json")


def test_current_regularization_is_raised_while_overfitting(tmp_path):
    rec = recommend("mlp", 3200, 10, 15210, 1.0, 0.7, current=CURRENT)
    assert rec.summary.endswith(
        "Current regularization: dropout=0.2, weight_decay=0.05, early_stopping(monitor=val_acc, "
        "mode=max, patience=20).")
    assert [(s.settings, s.arm) for s in rec.steps[:3]] == [
        ({"weight_decay": 0.15}, "weight_decay=0.15"),
        ({"early_stopping": {"monitor": "val_acc", "patience": 16}}, None),
        ({"dropout": 0.3}, "dropout=0.3"),
    ]
    assert rec.steps[0].reason == ("Already at 0.05 and the model still overfits: raise it to "
                                   "0.15, one step up a log grid.")
    assert rec.steps[1].reason == "Already on (monitor val_acc, patience 20); keep it."
    # the emitted study starts from the current setting: baseline = what was observed
    config = study_config(rec, data="mnist1d")
    assert config.regularization.model_dump(mode="json") == CURRENT
    assert config.arms == ["baseline", "weight_decay=0.15", "dropout=0.3"]
    path = tmp_path / "s.toml"
    path.write_text(study_toml(rec, config))
    assert load_config("study", path=path) == config


def test_current_at_the_dropout_maximum_and_a_good_fit_keep():
    cur = dict(CURRENT, dropout=0.5, early_stopping=None)
    rec = recommend("mlp", 3200, 10, 15210, 1.0, 0.7, current=cur)
    assert rec.steps[2].settings == {"dropout": 0.5} and rec.steps[2].arm is None
    assert rec.steps[2].reason == "Already at 0.5, the usual maximum; rely on the other steps."
    good = recommend("mlp", 3200, 10, 15210, 0.92, 0.91, current=cur)
    assert good.steps[0].settings == {"weight_decay": 0.05} and good.steps[0].arm is None
    assert good.steps[0].reason.startswith("Already at 0.05; keep it. Decoupled weight decay")


def test_default_current_changes_nothing():
    plain = recommend("mlp", 3200, 10, 15210, 1.0, 0.7)
    same = recommend("mlp", 3200, 10, 15210, 1.0, 0.7,
                     current=RunSpec().regularization.model_dump(mode="json"))
    assert same == plain


def _store_summaries(effects):
    """summarize_arms over scripted runs: the baseline at 0.60/0.61/0.62 and each arm shifted
    by its per-seed effects."""
    s = _scripted()
    base = [0.60, 0.61, 0.62]
    runs = [s.make_run("baseline", i, a) for i, a in enumerate(base)]
    for arm, (shifts, reg) in effects.items():
        runs += [s.make_run(arm, i, a + d, **reg) for i, (a, d) in enumerate(zip(base, shifts))]
    return summarize_arms(runs)


def test_store_evidence_orders_the_steps():
    measured = _store_summaries({
        "dropout=0.3": ((0.04, 0.04, 0.04), {"dropout": 0.3}),  # helps: interval above zero
        "early_stopping": ((-0.01, 0.0, 0.0), {"early_stopping": {"patience": 20}}),  # contains 0
        "weight_decay": ((-0.05, -0.05, -0.05), {"weight_decay": 0.1}),  # hurts: below zero
    })
    effects = {m.arm: m.effect for m in measured if m.effect}
    rec = recommend("mlp", 3200, 10, 15210, 1.0, 0.66, measured=measured)
    assert names(rec) == ["dropout", "smaller model", "early_stopping"]
    # the measured value replaces the recipe's 0.2, and the evidence is stated
    d, lo, hi = effects["dropout=0.3"]
    assert rec.steps[0].settings == {"dropout": 0.3} and rec.steps[0].arm == "dropout=0.3"
    assert rec.steps[0].evidence == (
        f"measured: dropout=0.3 {100 * d:+.1f} points [{100 * lo:+.1f}, {100 * hi:+.1f}] over 3 seeds")
    assert rec.steps[0].evidence.startswith("measured: dropout=0.3 +4.0 points [")
    assert rec.steps[2].evidence.startswith("measured: early_stopping=20 -0.3 points [")
    assert rec.avoid[0].startswith("weight_decay: measured: weight_decay=0.1 -5.0 points [")
    assert rec.avoid[0].endswith("; the interval is at or below zero on your data.")
    assert rec.summary.endswith("Ordered by what your store measured where it measured a step.")


def test_an_arm_measured_at_or_below_zero_is_never_first():
    measured = _store_summaries({"weight_decay=0.01": ((0.0, -0.01, 0.01), {"weight_decay": 0.01})})
    rec = recommend("mlp", 3200, 10, 15210, 1.0, 0.66, measured=measured)
    assert names(rec)[0] == "early_stopping" and names(rec)[-1] == "weight_decay"


def test_study_config_needs_data_and_positive_seeds():
    rec = recommend("mlp", 100, 10, 100)
    with pytest.raises(ValueError) as exc:
        study_config(rec)
    assert str(exc.value) == ("Invalid value for argument `data`. Expected your dataset: a "
                              "built-in name or a path (the study runs on your data). Received: no data")
    with pytest.raises(ValueError) as exc:
        study_config(rec, data="wine", seeds=0)
    assert str(exc.value) == "Invalid value for argument `seeds`. Expected an integer >= 1. Received: seeds=0"


def test_study_config_from_a_stored_spec_keeps_the_users_model_and_data():
    base = RunSpec.from_dict({"arm": "dropout", "epochs": 40, "batch_size": 50,
                              "data": {"name": "digits", "train_size": 500},
                              "model": {"name": "cnn2d", "options": {"channels": [8, 16]}},
                              "regularization": {"dropout": 0.5}})
    rec = recommend("cnn2d", 400, 10, 20_000, 0.5, 0.49)
    config = study_config(rec, base=base)
    assert config.epochs == 80 and config.batch_size == 50  # underfitting: twice the epochs
    assert config.data == base.data and config.model == base.model
    assert config.regularization.dropout == 0.0
    other = study_config(recommend("cnn", 400, 10, 2000, 1.0, 0.8), base=base, model="resnet")
    assert other.model.name == "resnet" and other.data.name == "digits"


def test_drop_path_is_left_out_on_a_model_without_residual_blocks(tmp_path):
    rec = recommend("resnet50", 5000, 50, 25_000_000, 0.98, 0.71)
    config = study_config(rec, data="cifar10", model="cnn2d")
    assert "drop_path=0.05" not in config.arms
    text = study_toml(rec, config)
    assert "# Left out: drop_path=0.05 (reglab's 'cnn2d' has no residual blocks).\n" in text


def test_a_measured_arm_the_recipe_lacks_leads_when_it_helped():
    measured = _store_summaries({
        "mixup": ((0.05, 0.05, 0.05), {"mixup_alpha": 0.2}),            # helps; not a tabular step
        "input_noise": ((0.01, -0.01, 0.0), {"input_noise": 0.1}),      # contains 0: not added
    })
    rec = recommend("mlp", 3200, 10, 15210, 1.0, 0.66, measured=measured)
    assert names(rec) == ["mixup", "weight_decay", "early_stopping", "dropout", "smaller model"]
    first = rec.steps[0]
    assert (first.arm, first.settings, first.source) == (
        "mixup", {}, "Zhang et al. 2018, mixup, ICLR, arXiv:1710.09412")
    assert first.reason == "Not in this recipe, but it helped on your data: mixup sets mixup_alpha=0.2."
    assert first.evidence.startswith("measured: mixup=0.2 +5.0 points [")
    assert rec.study_arms()[:2] == ["baseline", "mixup"]


def test_to_dict_is_plain_json():
    import json

    rec = recommend("resnet50", 5000, 50, 25_000_000, 0.98, 0.71)
    d = json.loads(json.dumps(rec.to_dict()))
    assert (d["scenario"], d["verdict"], d["modality"], d["residual"]) == (
        "image classification from scratch on little data", "overfitting", "image", True)
    assert d["steps"][1]["settings"] == {"random_resized_crop_scale": [0.08, 1.0], "horizontal_flip": 0.5}
    assert [s["arm"] for s in d["steps"]][3:5] == ["mixup=0.2", "cutmix=1.0"]

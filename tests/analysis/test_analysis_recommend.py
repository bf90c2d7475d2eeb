"""recommend(): the standard scenarios, exact orders/values/messages, and the emitted study."""

from __future__ import annotations

import pytest

from reglab.analysis import recommend
from reglab.analysis.recommend import family_of_model, observed_verdict, study_config
from reglab.experiments.config import DEFAULT_EPOCHS, load_config, to_toml
from reglab.experiments.spec import RunSpec


def techniques(rec):
    return [s.technique for s in rec.steps]


def test_small_data_mlp_overfitting():
    rec = recommend("mlp", 3200, 10, 15210, train_acc=1.0, val_acc=0.66)
    assert rec.verdict == "overfitting" and rec.warnings == []
    assert techniques(rec) == ["weight decay (AdamW)", "early stopping", "dropout",
                               "data augmentation"]
    assert [s.settings for s in rec.steps] == [
        {"weight_decay": 0.01}, {"early_stopping": {"monitor": "val_acc", "patience": 20}},
        {"dropout": 0.2},
        {"input_noise": 0.1}]
    assert rec.summary == (
        "Overfitting (training accuracy 100.0% vs validation 66.0%, a gap of 34.0 points; 15,210 "
        "parameters for 3,200 training examples (4.8 per example)): weight decay 0.01 with AdamW "
        "and early stopping first, then dropout and augmentation while the gap persists."
    )
    assert rec.steps[2].reason == (
        "If overfitting persists: dropout 0.2 (Srivastava et al. 2014) on the hidden layers; "
        "raise toward 0.5 for wide layers if the gap stays large."
    )
    assert rec.study_arms() == ["baseline", "weight_decay=0.01", "early_stopping=20",
                                "dropout=0.2", "input_noise=0.1", "stack"]


def test_transformer_gets_label_smoothing_before_dropout():
    rec = recommend("transformer", 50_000, 10, 5_000_000, train_acc=0.99, val_acc=0.85)
    assert techniques(rec) == ["weight decay (AdamW)", "early stopping", "label smoothing",
                               "dropout", "data augmentation"]
    assert rec.steps[2].settings == {"label_smoothing": 0.1}
    assert rec.steps[3].settings == {"dropout": 0.1}
    assert rec.steps[4].settings == {"mixup_alpha": 0.2} and rec.steps[4].arm == "mixup=0.2"
    assert "Vaswani et al. 2017" in rec.steps[2].reason


def test_fine_tuning_on_small_data_regularizes_more():
    rec = recommend("cnn", 800, 10, 11_000_000, train_acc=1.0, val_acc=0.7, fine_tuning=True)
    assert techniques(rec) == ["small learning rate (fine-tuning)", "weight decay (AdamW)",
                               "early stopping", "label smoothing", "dropout",
                               "data augmentation"]
    assert [s.settings for s in rec.steps] == [
        {"lr": 0.0001}, {"weight_decay": 0.05},
        {"early_stopping": {"monitor": "val_acc", "patience": 5}},
        {"label_smoothing": 0.1}, {"dropout": 0.1}, {"mixup_alpha": 0.2}]
    assert rec.warnings == []  # large pretrained models on small data are normal
    assert rec.summary.endswith("Fine-tuning on small data: regularize more than usual.")
    scratch = recommend("cnn", 800, 10, 11_000_000, train_acc=1.0, val_acc=0.7)
    assert scratch.steps[0].settings == {"weight_decay": 0.01} and len(scratch.warnings) == 1


def test_far_too_large_model_warns():
    rec = recommend("mlp", 500, 10, 2_000_000, train_acc=1.0, val_acc=0.5)
    assert rec.warnings == [
        "The model is far too large for the data: 2,000,000 parameters for 500 training examples "
        "(4,000.0 per example), above 1,000. It can memorise the training set outright and "
        "regularization only partly compensates; use a model under 50,000 parameters (100 per "
        "example) or collect more data."
    ]
    assert recommend("mlp", 500, 10, 500_000).warnings == []  # 1,000 per example: not above


def test_underfitting_reduces_regularization_first():
    rec = recommend("mlp", 3200, 10, 15210, train_acc=0.40, val_acc=0.39)
    assert rec.verdict == "underfitting"
    assert techniques(rec) == ["reduce regularization", "train longer", "larger model"]
    assert rec.steps[0].settings == {"weight_decay": 0.0001, "dropout": 0.0,
                                     "label_smoothing": 0.0, "mixup_alpha": 0.0,
                                     "input_noise": 0.0}
    assert rec.summary == (
        "Underfitting (training accuracy 40.0% vs validation 39.0%, a gap of 1.0 points): reduce "
        "regularization first, then train longer or use a larger model."
    )
    assert rec.study_arms() == ["baseline", "weight_decay=0.0001"]


def test_good_fit_keeps_light_regularization():
    rec = recommend("rnn", 20_000, 5, 100_000, train_acc=0.93, val_acc=0.91)
    assert rec.verdict == "good fit"
    assert techniques(rec) == ["weight decay (AdamW)", "early stopping"]
    assert rec.summary == (
        "Good fit (training accuracy 93.0% vs validation 91.0%, a gap of 2.0 points): keep light "
        "regularization - weight decay 0.01 with AdamW and early stopping; more would likely cost "
        "accuracy."
    )


def test_without_accuracies_size_decides():
    rec = recommend("mlp", 1000, 10, 50_000)
    assert rec.verdict == "unknown" and len(rec.steps) == 4
    assert rec.summary == (
        "No accuracies observed; with 50,000 parameters for 1,000 training examples (50.0 per "
        "example), overfitting is likely. Start with weight decay 0.01 (AdamW) and early "
        "stopping, measure the train-val gap, then go down the list."
    )
    assert rec.steps[2].reason.startswith("If a gap appears: dropout 0.2")


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
    assert [family_of_model(m) for m in ("resnet", "cnn1d", "lstm", "transformer", "mlp")] == [
        "cnn", "cnn", "rnn", "transformer", "mlp"]


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
    ],
)
def test_bad_arguments(kwargs, message):
    args = dict(family="mlp", n_train=100, num_classes=10, n_params=1000)
    args.update(kwargs)
    with pytest.raises(ValueError) as exc:
        recommend(**args)
    assert str(exc.value) == message


def test_study_config_round_trips_through_toml(tmp_path):
    rec = recommend("mlp", 3200, 10, 15210, train_acc=1.0, val_acc=0.66)
    config = study_config(rec, seeds=5)
    assert config.arms == rec.study_arms() and config.seeds == 5
    assert config.name == "recommend-mlp" and config.model.name == "mlp"
    assert config.data.name == "mnist1d" and config.epochs == DEFAULT_EPOCHS
    path = tmp_path / "study.toml"
    path.write_text(to_toml(config))
    assert load_config("study", path=path) == config


def test_study_config_from_a_stored_spec_and_underfitting_doubles_epochs():
    base = RunSpec.from_dict({"arm": "dropout", "epochs": 40, "batch_size": 50,
                              "data": {"name": "digits", "train_size": 500},
                              "model": {"name": "cnn2d", "options": {"width": 16}},
                              "regularization": {"dropout": 0.5}})
    rec = recommend("cnn2d", 400, 10, 20_000, train_acc=0.5, val_acc=0.49)
    config = study_config(rec, base=base)
    assert config.epochs == 80 and config.batch_size == 50
    assert config.data == base.data and config.model == base.model
    assert config.regularization.dropout == 0.0  # the arms add regularization, not the base
    assert config.arms == ["baseline", "weight_decay=0.0001"]
    assert study_config(recommend("cnn", 400, 10, 2000), dataset="digits").model.name == "cnn2d"


def test_study_config_rejects_bad_seeds():
    with pytest.raises(ValueError) as exc:
        study_config(recommend("mlp", 100, 10, 100), seeds=0)
    assert str(exc.value) == "Invalid value for argument `seeds`. Expected an integer >= 1. Received: seeds=0"


CURRENT = RunSpec.from_dict({"regularization": {
    "dropout": 0.2, "weight_decay": 0.05,
    "early_stopping": {"monitor": "val_acc", "mode": "max", "patience": 20}}}
).regularization.model_dump(mode="json")


def test_current_regularization_is_raised_when_still_overfitting(tmp_path):
    rec = recommend("mlp", 3200, 10, 15210, train_acc=1.0, val_acc=0.7, current=CURRENT)
    assert rec.summary.endswith(
        "Current regularization: dropout=0.2, weight_decay=0.05, early_stopping(monitor=val_acc, "
        "mode=max, patience=20). Steps already applied say so; those that still fall short are "
        "raised.")
    assert [(s.settings, s.arm) for s in rec.steps] == [
        ({"weight_decay": 0.15}, "weight_decay=0.15"),
        ({"early_stopping": {"monitor": "val_acc", "patience": 20}}, None),
        ({"dropout": 0.3}, "dropout=0.3"),
        ({"input_noise": 0.1}, "input_noise=0.1"),
    ]
    assert rec.steps[0].reason == ("Already at 0.05 and the model still overfits: raise it to "
                                   "0.15, one step up a log grid.")
    assert rec.steps[1].reason == "Already on (monitor val_acc, patience 20); keep it."
    # the emitted study starts from the current setting: baseline = what was observed
    config = study_config(rec)
    assert config.regularization.model_dump(mode="json") == CURRENT
    assert config.arms == ["baseline", "weight_decay=0.15", "dropout=0.3", "input_noise=0.1",
                           "stack"]
    path = tmp_path / "s.toml"
    path.write_text(to_toml(config))
    assert load_config("study", path=path) == config


def test_current_dropout_at_maximum_and_good_fit_keeps():
    cur = dict(CURRENT, dropout=0.5, early_stopping=None)
    rec = recommend("mlp", 3200, 10, 15210, train_acc=1.0, val_acc=0.7, current=cur)
    assert rec.steps[2].settings == {"dropout": 0.5} and rec.steps[2].arm is None
    assert rec.steps[2].reason == "Already at 0.5, the usual maximum; rely on the other steps."
    good = recommend("mlp", 3200, 10, 15210, train_acc=0.92, val_acc=0.91, current=cur)
    assert good.steps[0].settings == {"weight_decay": 0.05} and good.steps[0].arm is None
    assert good.steps[0].reason.startswith("Already at 0.05; keep it. Decoupled weight decay")


def test_current_regularization_when_underfitting_is_listed_not_raised():
    rec = recommend("mlp", 3200, 10, 15210, train_acc=0.5, val_acc=0.49, current=CURRENT)
    assert rec.steps[0].settings["dropout"] == 0.0 and rec.current is None
    assert rec.steps[0].reason.endswith(
        "Currently on: dropout=0.2, weight_decay=0.05, early_stopping(monitor=val_acc, mode=max, "
        "patience=20).")
    assert study_config(rec).regularization.dropout == 0.0


def test_default_current_changes_nothing():
    plain = recommend("mlp", 3200, 10, 15210, train_acc=1.0, val_acc=0.7)
    same = recommend("mlp", 3200, 10, 15210, train_acc=1.0, val_acc=0.7,
                     current=RunSpec().regularization.model_dump(mode="json"))
    assert same == plain

"""The recommender on scenarios written from the recipes it cites.

Each scenario asserts the order of the first steps, the starting values against the recipe's
range, and that the emitted study (TOML, read back by the study config loader) holds exactly the
recommended values: ``baseline`` plus one arm per technique step at its value, the recommended
learning rate and epochs as shared settings.
"""

from __future__ import annotations

import pytest

from reglab.analysis.recommend import recommend, study_config, study_toml
from reglab.experiments.config import DEFAULT_EPOCHS, load_config
from reglab.techniques import TECHNIQUES, parse_arm


def names(rec, k=None):
    return [s.technique for s in rec.steps][:k]


def value(rec, technique, key=None):
    """The starting value of a step (its technique field, or the advice's ``key``)."""
    step = next(s for s in rec.steps if s.technique == technique)
    if key is not None:
        return step.settings[key]
    field = TECHNIQUES[technique].field
    setting = step.settings[field]
    return setting["patience"] if technique == "early_stopping" else setting


def emitted(rec, tmp_path, **kwargs):
    """Write the study TOML, read it back and check it reproduces the recommendation."""
    config = study_config(rec, **kwargs)
    path = tmp_path / "study.toml"
    path.write_text(study_toml(rec, config), encoding="utf-8")
    loaded = load_config("study", path=path)
    assert loaded == config
    technique_steps = [s for s in rec.steps if s.arm]
    assert loaded.arms == ["baseline"] + [s.arm for s in technique_steps]
    for arm, step in zip(loaded.arms[1:], technique_steps):
        technique, v = parse_arm(arm)
        assert technique.name == step.technique
        expected = step.settings[technique.field]
        assert v == (expected["patience"] if technique.name == "early_stopping" else expected)
    advice = {k: v for s in rec.steps if s.arm is None for k, v in s.settings.items()}
    if "lr" in advice:
        assert loaded.optimizer.lr == advice["lr"]
    if "epochs" in advice:
        assert loaded.epochs == advice["epochs"]
    return loaded, path.read_text(encoding="utf-8")


def in_range(x, low, high):
    return low <= x <= high


# 1. The textbook challenge: ResNet-50 from scratch on 5,000 images of 50 classes.
def test_resnet50_on_5000_images_puts_transfer_and_crop_flip_first(tmp_path):
    rec = recommend("resnet50", 5000, 50, 25_000_000, 0.98, 0.71)
    assert rec.verdict == "overfitting"
    assert names(rec) == ["pretrained weights", "crop and flip augmentation",
                          "TrivialAugment / RandAugment", "mixup", "cutmix", "label_smoothing",
                          "drop_path", "weight_decay", "early_stopping"]
    crop = rec.steps[1].settings
    assert crop == {"random_resized_crop_scale": (0.08, 1.0), "horizontal_flip": 0.5}
    assert value(rec, "mixup") == 0.2  # torchvision's CNN recipe
    assert value(rec, "cutmix") == 1.0 and value(rec, "label_smoothing") == 0.1
    assert in_range(value(rec, "drop_path"), 0.05, 0.1)  # timm ResNet-50 .. DeiT
    assert in_range(value(rec, "weight_decay"), 0.01, 0.05)
    text = " ".join([rec.summary, *rec.warnings, *(s.reason for s in rec.steps)])
    assert "500,000" not in text and "under" not in text
    assert "Kornblith" in rec.steps[0].source and "He et al. 2016" in rec.steps[1].source
    config, toml = emitted(rec, tmp_path, data="cifar10")
    assert config.model.name == "resnet"  # reglab's residual reference model
    assert "#   1. pretrained weights" in toml


# 2. The textbook challenge: BERT fine-tuning on 1,000 examples.
def test_bert_fine_tuning_on_1000_examples(tmp_path):
    rec = recommend("bert", 1000, 2, 110_000_000, fine_tuning=True)
    assert names(rec, 5) == ["fine-tuning learning rate", "weight_decay", "learning-rate warmup",
                             "few epochs", "early stopping on evaluations"]
    assert in_range(value(rec, "fine-tuning learning rate", "lr"), 2e-5, 5e-5)
    assert value(rec, "weight_decay") == 0.01
    assert in_range(value(rec, "learning-rate warmup", "warmup_ratio"), 0.06, 0.1)
    assert in_range(value(rec, "few epochs", "epochs"), 2, 4)
    # 1,000 / 32 = 32 steps per epoch, evaluated 4 times per epoch; patience counted in evaluations
    assert rec.steps[4].settings == {"eval_steps": 8, "patience": 3}
    assert not {"dropout", "mixup", "early_stopping"} & set(names(rec))
    assert rec.avoid[0].startswith("extra dropout: BERT-style models already apply dropout 0.1")
    assert rec.avoid[1].startswith("mixup of inputs: token ids cannot be mixed; mixup of word or "
                                   "sentence embeddings (Guo et al. 2019)")
    assert rec.warnings == []
    config, _ = emitted(rec, tmp_path, data="mnist1d", model="transformer")
    assert (config.optimizer.lr, config.epochs, config.arms) == (2e-5, 3, ["baseline", "weight_decay=0.01"])


# 3. DeiT: a vision transformer from scratch on 50,000 images.
def test_vision_transformer_from_scratch_follows_deit(tmp_path):
    rec = recommend("vit", 50_000, 100, 22_000_000, 0.99, 0.6, modality="image")
    assert names(rec, 4) == ["pretrained weights", "crop and flip augmentation",
                             "TrivialAugment / RandAugment", "mixup"]
    assert (value(rec, "mixup"), value(rec, "cutmix"), value(rec, "label_smoothing"),
            value(rec, "drop_path"), value(rec, "weight_decay")) == (0.8, 1.0, 0.1, 0.1, 0.05)
    assert "DeiT" in next(s for s in rec.steps if s.technique == "drop_path").source
    emitted(rec, tmp_path, data="cifar10", model="transformer")


# 4. Enough images to train from scratch: augmentation first, no transfer step.
def test_resnet_on_a_large_image_set_starts_with_crops(tmp_path):
    rec = recommend("resnet50", 500_000, 1000, 25_000_000, 0.9, 0.75)
    assert names(rec, 3) == ["crop and flip augmentation", "TrivialAugment / RandAugment", "mixup"]
    assert rec.warnings == []
    emitted(rec, tmp_path, data="cifar10")


# 5. Digits: a flip changes the label, so no flips.
def test_digit_images_are_not_flipped(tmp_path):
    rec = recommend("cnn", 1000, 10, 100_000, 1.0, 0.9, flips=False)
    assert names(rec, 2) == ["pretrained weights", "crop and flip augmentation"]
    assert rec.steps[1].settings == {"random_resized_crop_scale": (0.08, 1.0)}
    assert "no flips: a mirror image changes these labels" in rec.steps[1].reason
    assert "drop_path" not in names(rec)  # not residual
    config, _ = emitted(rec, tmp_path, data="digits")
    assert config.model.name == "cnn2d"


# 6. Fine-tuning a pretrained CNN on 2,000 images (BiT).
def test_image_fine_tuning_on_small_data(tmp_path):
    rec = recommend("resnet50", 2000, 10, 25_000_000, 1.0, 0.8, fine_tuning=True)
    assert names(rec, 5) == ["fine-tuning learning rate", "crop and flip augmentation",
                             "early_stopping", "label_smoothing", "weight_decay"]
    assert value(rec, "fine-tuning learning rate", "lr") == 1e-4
    assert value(rec, "early_stopping") == 5
    assert "mixup" not in names(rec)
    assert rec.avoid == ["mixup: BiT applies it only above 20,000 examples (here 2,000; "
                         "Kolesnikov et al. 2020)."]
    config, _ = emitted(rec, tmp_path, data="cifar10")
    assert config.optimizer.lr == 1e-4


# 7. Fine-tuning on 50,000 images: BiT's mixup 0.1.
def test_image_fine_tuning_on_larger_data_adds_bit_mixup(tmp_path):
    rec = recommend("resnet50", 50_000, 10, 25_000_000, 1.0, 0.85, fine_tuning=True)
    assert value(rec, "mixup") == 0.1 and rec.avoid == []
    emitted(rec, tmp_path, data="cifar10")


# 8. Small tabular data.
def test_small_tabular_data(tmp_path):
    rec = recommend("mlp", 3200, 10, 15210, 1.0, 0.66)
    assert rec.scenario == "small tabular data"
    assert names(rec) == ["weight_decay", "early_stopping", "dropout", "smaller model"]
    assert in_range(value(rec, "weight_decay"), 1e-5, 0.1)  # Kadra et al.'s search range
    assert value(rec, "early_stopping") == 16  # Gorishniy et al.
    assert in_range(value(rec, "dropout"), 0.0, 0.5)
    assert rec.notes[0].startswith("Compare against gradient-boosted trees")
    config, _ = emitted(rec, tmp_path, data="breast_cancer")
    assert config.arms == ["baseline", "weight_decay=0.01", "early_stopping=16", "dropout=0.2"]


# 9. AWD-LSTM language model.
def test_lstm_language_model_follows_awd_lstm(tmp_path):
    rec = recommend("lstm", 929_000, 10_000, 24_000_000, task="language_model")
    assert names(rec) == ["weight drop", "dropout", "embedding dropout", "grad_clip", "NT-ASGD"]
    assert value(rec, "weight drop", "weight_drop") == 0.5
    assert in_range(value(rec, "dropout"), 0.25, 0.4)
    assert value(rec, "embedding dropout", "embedding_dropout") == 0.1
    assert value(rec, "grad_clip") == 0.25
    assert rec.steps[4].core is False  # NT-ASGD optional
    assert all("Merity" in s.source for s in rec.steps)
    config, _ = emitted(rec, tmp_path, data="mnist1d", model="lstm")
    assert config.arms == ["baseline", "dropout=0.3", "grad_clip=0.25"]


# 10. LSTM text classifier on little data: a pretrained language model first (ULMFiT).
def test_lstm_text_classifier_on_little_data(tmp_path):
    rec = recommend("lstm", 2000, 5, 3_000_000, 1.0, 0.7)
    assert names(rec, 3) == ["pretrained language model", "weight drop", "dropout"]
    assert names(rec)[-1] == "early_stopping"
    emitted(rec, tmp_path, data="mnist1d", model="lstm")


# 11. Underfitting: remove regularization, bigger model, longer training, learning-rate check.
def test_underfitting(tmp_path):
    rec = recommend("mlp", 3200, 10, 15210, 0.40, 0.39)
    assert names(rec) == ["remove regularization", "bigger model", "train longer",
                          "learning-rate check"]
    assert rec.steps[2].settings == {"epochs_factor": 2}
    config, _ = emitted(rec, tmp_path, data="mnist1d")
    assert config.epochs == 2 * DEFAULT_EPOCHS and config.arms == ["baseline"]


# 12. Underfitting with the regularization the run used: that is what to turn off.
def test_underfitting_turns_off_what_the_run_used(tmp_path):
    current = {"dropout": 0.5, "weight_decay": 0.1, "mixup_alpha": 0.0}
    rec = recommend("cnn", 40_000, 10, 200_000, 0.45, 0.44, current=current)
    assert rec.steps[0].settings == {"dropout": 0.0, "weight_decay": 0.0}
    assert rec.steps[0].reason.startswith("Turn off what the run used (dropout, weight_decay)")
    config, _ = emitted(rec, tmp_path, data="cifar10", epochs=30)
    assert config.regularization.dropout == 0.0 and config.epochs == 30


# 13. A good fit keeps only the recipe's base.
def test_good_fit_keeps_the_base_recipe(tmp_path):
    rec = recommend("resnet50", 5000, 50, 25_000_000, 0.93, 0.91)
    assert names(rec) == ["pretrained weights", "crop and flip augmentation",
                          "TrivialAugment / RandAugment", "weight_decay", "early_stopping"]
    assert rec.summary.startswith("Good fit (training accuracy 93.0% vs validation 91.0%, a gap "
                                  "of 2.0 points). Image classification from scratch on little data")
    emitted(rec, tmp_path, data="cifar10")


# 14. A text transformer from scratch: pretrained first, then the original Transformer's values.
def test_text_transformer_from_scratch(tmp_path):
    rec = recommend("transformer", 8000, 4, 5_000_000, 1.0, 0.7)
    assert names(rec, 3) == ["pretrained weights", "dropout", "label_smoothing"]
    assert value(rec, "dropout") == 0.1 and value(rec, "label_smoothing") == 0.1
    assert "mixup" not in names(rec)
    emitted(rec, tmp_path, data="mnist1d")


# 15. BERT fine-tuning that underfits: the top of the learning-rate range and 4 epochs.
def test_bert_fine_tuning_underfitting(tmp_path):
    rec = recommend("bert", 1000, 2, 110_000_000, 0.55, 0.54, fine_tuning=True)
    assert names(rec, 2) == ["remove regularization", "fine-tuning learning rate"]
    assert rec.steps[1].settings == {"lr": 5e-5, "epochs": 4}
    config, _ = emitted(rec, tmp_path, data="mnist1d", model="transformer")
    assert (config.optimizer.lr, config.epochs) == (5e-5, 4)


# 16. A signal (MNIST-1D) with an MLP.
def test_signal_mlp(tmp_path):
    rec = recommend("mlp", 3200, 10, 15210, 1.0, 0.66, modality="signal")
    assert names(rec) == ["weight_decay", "early_stopping", "dropout", "input_noise"]
    assert (value(rec, "weight_decay"), value(rec, "early_stopping"), value(rec, "dropout"),
            value(rec, "input_noise")) == (0.01, 20, 0.2, 0.1)
    emitted(rec, tmp_path, data="mnist1d", seeds=4, epochs=30)


@pytest.mark.parametrize("family", ["mlp", "cnn", "transformer", "rnn"])
@pytest.mark.parametrize("fine_tuning", [False, True])
def test_every_technique_step_is_inside_its_range_and_text_gets_no_mixup(family, fine_tuning):
    for modality in ("image", "text", "tabular", "signal"):
        for accs in ((None, None), (1.0, 0.7), (0.93, 0.91), (0.3, 0.29)):
            rec = recommend(family, 2000, 10, 1_000_000, *accs, fine_tuning=fine_tuning,
                            modality=modality)
            assert rec.steps
            if modality == "text":  # mixup on text only as an embedding experiment, never a step
                assert not {"mixup", "cutmix"} & set(names(rec))
                if fine_tuning and family == "transformer":  # BERT's own dropout 0.1 suffices
                    assert "dropout" not in names(rec)
            for step in rec.steps:
                assert step.source
                if step.arm:
                    technique, v = parse_arm(step.arm)  # raises outside the technique's range
                    assert technique.name == step.technique


def test_emitted_study_names_the_users_own_model_and_data(tmp_path):
    """Import-string models and data files (``reglab.models.user``, ``reglab.data.user``); runs
    once both are in the code base."""
    pytest.importorskip("reglab.models.user")
    pytest.importorskip("reglab.data.user")
    data = tmp_path / "images.csv"
    data.write_text("x0,x1,label\n0.1,0.2,0\n", encoding="utf-8")
    rec = recommend("resnet50", 5000, 50, 25_000_000, 0.98, 0.71)
    config, toml = emitted(rec, tmp_path, model="mypackage.models:resnet50", data=str(data))
    assert config.model.name == "mypackage.models:resnet50"
    assert config.data.name == str(data)
    assert "drop_path=0.05" in config.arms  # a user model may have residual blocks


def test_regression_recommends_decay_early_stopping_on_val_loss_dropout_and_a_smaller_model():
    rec = recommend("mlp", 400, 1, 20_000, task="regression", modality="tabular")
    assert rec.scenario == "regression" and rec.verdict == "unknown"
    assert [(s.technique, s.settings, s.arm) for s in rec.steps] == [
        ("weight_decay", {"weight_decay": 0.01}, "weight_decay=0.01"),
        ("early_stopping", {"early_stopping": {"monitor": "val_loss", "patience": 16}}, "early_stopping=16"),
        ("dropout", {"dropout": 0.05}, "dropout=0.05"),
        ("smaller model", {"width_factor": 0.5}, None),
    ]
    assert rec.avoid == ["mixup, CutMix and label smoothing: they act on class labels, and a regression target "
                         "has none (a regression study refuses them)."]
    assert rec.summary == (
        "A regression target; with 20,000 parameters for 400 training examples (50.0 per example), overfitting "
        "is likely. Regression: weight decay and early stopping on the validation loss first, then dropout and "
        "a smaller model.")
    assert rec.study_arms() == ["baseline", "weight_decay=0.01", "early_stopping=16", "dropout=0.05"]


def test_regression_refuses_accuracies():
    with pytest.raises(ValueError) as exc:
        recommend("mlp", 400, 1, 20_000, 0.9, 0.8, task="regression")
    assert str(exc.value) == ("Invalid value for argument `train_acc`. Expected None for task='regression' (a "
                              "regression has no accuracy). Received: train_acc=0.9")

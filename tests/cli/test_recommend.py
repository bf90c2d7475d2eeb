"""`reglab recommend` through typer's CliRunner: the textbook scenarios, --from-store evidence,
--emit-config on the user's model and data, errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from reglab.cli import app
from reglab.experiments.config import load_config

BASE = ["recommend", "--family", "mlp", "--n-train", "3200", "--classes", "10", "--params", "15210"]
RESNET = ["recommend", "--family", "resnet50", "--n-train", "5000", "--classes", "50", "--params",
          "25000000", "--train-acc", "0.98", "--val-acc", "0.71"]
BERT = ["recommend", "--family", "bert", "--fine-tuning", "--n-train", "1000", "--classes", "2",
        "--params", "110000000"]


def flat(text: str) -> str:
    return " ".join(text.split())


def ok(args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return flat(result.stdout)


def in_order(out, *parts):
    positions = [out.index(p) for p in parts]
    assert positions == sorted(positions), positions


def test_resnet50_challenge(tmp_path):
    path = tmp_path / "r50.toml"
    out = ok(RESNET + ["--data", "cifar10", "--emit-config", str(path)])
    assert out.startswith(
        "Overfitting (training accuracy 98.0% vs validation 71.0%, a gap of 27.0 points; "
        "25,000,000 parameters for 5,000 training examples (5,000.0 per example)). Image "
        "classification from scratch on little data: start from pretrained weights, then augment "
        "(crops, flips, TrivialAugment) before anything else;")
    in_order(out, "1. pretrained weights With 5,000 images, start from ImageNet-pretrained weights",
             "2. crop and flip augmentation: start with random_resized_crop_scale=(0.08, 1.0), "
             "horizontal_flip=0.5", "3. TrivialAugment / RandAugment",
             "4. mixup: start with mixup_alpha=0.2 (study arm: mixup=0.2)",
             "5. cutmix", "6. label_smoothing", "7. drop_path: start with drop_path=0.05",
             "8. weight_decay", "9. early_stopping")
    assert "Source: Kornblith, Shlens & Le 2019, Do Better ImageNet Models Transfer Better?" in out
    assert "500,000" not in out
    assert (f"Wrote study recommend-cnn (7 arms x 3 seeds; model resnet, data cifar10) to {path}; "
            f"run it with: reglab study --config {path}") in out
    config = load_config("study", path=path)
    assert config.arms == ["baseline", "mixup=0.2", "cutmix=1.0", "label_smoothing=0.1",
                           "drop_path=0.05", "weight_decay=0.01", "early_stopping=20"]


def test_bert_fine_tuning_on_1000_examples(tmp_path):
    path = tmp_path / "bert.toml"
    # the built-in mnist1d stands in for the user's text data (--modality says what it is)
    out = ok(BERT + ["--modality", "text", "--data", "mnist1d", "--model", "transformer",
                     "--emit-config", str(path)])
    assert out.startswith("No accuracies observed; a pretrained model with 110,000,000 parameters "
                          "for 1,000 training examples (110,000.0 per example). Fine-tuning a "
                          "pretrained text transformer (BERT-style): learning rate 2e-5 to 5e-5, "
                          "weight decay 0.01, warmup 10%, 3 epochs and early stopping on "
                          "evaluations; no extra dropout.")
    in_order(out, "1. fine-tuning learning rate: start with lr=2e-5 AdamW at 2e-5, the low end of BERT's "
             "fine-tuning range (2e-5 to 5e-5)",
             "2. weight_decay: start with weight_decay=0.01 (study arm: weight_decay=0.01)",
             "3. learning-rate warmup: start with warmup_ratio=0.1", "4. few epochs: start with epochs=3",
             "5. early stopping on evaluations: start with eval_steps=8, patience=3",
             "Not recommended: extra dropout", "Not recommended: mixup of inputs",
             "Note: On 1,000 examples fine-tuning is unstable across seeds")
    config = load_config("study", path=path)
    assert (config.optimizer.lr, config.epochs, config.arms) == (2e-5, 3, ["baseline", "weight_decay=0.01"])
    assert config.model.name == "transformer" and config.data.name == "mnist1d"


def test_data_flag_sets_modality_and_flips():
    out = ok(["recommend", "--family", "cnn", "--n-train", "1000", "--classes", "10", "--params",
              "100000", "--train-acc", "1.0", "--val-acc", "0.9", "--data", "digits"])
    assert ("2. crop and flip augmentation: start with random_resized_crop_scale=(0.08, 1.0) "
            "Random resized crops (scale 0.08-1; on 32x32 images: pad by 4 and crop), no flips") in out
    out = ok(BASE + ["--train-acc", "1.0", "--val-acc", "0.66", "--data", "mnist1d"])
    assert "MLP on signals" in out and "4. input_noise: start with input_noise=0.1" in out


def test_small_tabular_and_underfitting():
    out = ok(BASE + ["--train-acc", "1.0", "--val-acc", "0.66"])
    in_order(out, "1. weight_decay: start with weight_decay=0.01",
             "2. early_stopping: start with early_stopping(monitor=val_acc, patience=16)",
             "3. dropout: start with dropout=0.2", "4. smaller model: start with width_factor=0.5",
             "Note: Compare against gradient-boosted trees")
    out = ok(BASE + ["--train-acc", "0.4", "--val-acc", "0.39"])
    assert out.startswith("Underfitting (training accuracy 40.0% vs validation 39.0%, a gap of 1.0 "
                          "points): remove regularization first")
    in_order(out, "1. remove regularization", "2. bigger model", "3. train longer: start with epochs x2",
             "4. learning-rate check")


def test_language_model_task():
    out = ok(["recommend", "--family", "lstm", "--task", "language_model", "--n-train", "929000",
              "--classes", "10000", "--params", "24000000"])
    in_order(out, "1. weight drop: start with weight_drop=0.5", "2. dropout: start with dropout=0.3",
             "3. embedding dropout: start with embedding_dropout=0.1",
             "4. grad_clip: start with grad_clip=0.25", "5. NT-ASGD")


@pytest.fixture(scope="module")
def store(tmp_path_factory, scripted):
    s = scripted
    path = tmp_path_factory.mktemp("cli-recommend") / "runs.sqlite"
    base = [0.60, 0.61, 0.62]
    runs = [s.make_run("baseline", seed, a) for seed, a in enumerate(base)]
    runs += [s.make_run("dropout", seed, a + 0.04, "good", dropout=0.2) for seed, a in enumerate(base)]
    runs += [s.make_run("weight_decay", seed, a - 0.05, weight_decay=0.1) for seed, a in enumerate(base)]
    runs += [s.make_run("early_stopping", seed, a + d, early_stopping={"patience": 20})
             for seed, (a, d) in enumerate(zip(base, (-0.01, 0.0, 0.0)))]
    s.write_store(path, runs, study="demo")
    return path


def test_from_store_orders_by_what_it_measured(store, tmp_path):
    path = tmp_path / "s.toml"
    out = ok(["recommend", "--from-store", str(store), "--emit-config", str(path)])
    # baseline final accuracies: train 1.000, val 0.580/0.581/0.582 -> mean 58.1%; data mnist1d
    assert out.startswith(
        "Overfitting (training accuracy 100.0% vs validation 58.1%, a gap of 41.9 points; 15,210 "
        "parameters for 3,200 training examples (4.8 per example)). MLP on signals:")
    assert out.index("1. dropout: start with dropout=0.2 (study arm: dropout=0.2)") < out.index(
        "Measured: dropout=0.2 +4.0 points [") < out.index("2. input_noise")
    in_order(out, "2. input_noise", "3. early_stopping", "Measured: early_stopping=20 -0.3 points [",
             "Not recommended: weight_decay: measured: weight_decay=0.1 -5.0 points [")
    config = load_config("study", path=path)
    assert config.epochs == 30 and config.data.name == "mnist1d"  # from the stored spec
    assert config.arms == ["baseline", "dropout=0.2", "input_noise=0.1", "early_stopping=20"]


def test_from_store_explicit_flags_win(store):
    out = ok(["recommend", "--from-store", str(store), "--arm", "dropout", "--params", "2000000",
              "--n-train", "500"])
    assert out.startswith("Good fit (training accuracy 90.0% vs validation 88.1%, a gap of 1.9 "
                          "points). MLP on signals: keep light regularization (dropout, "
                          "early_stopping); more would likely cost accuracy. Current "
                          "regularization: dropout=0.2. Ordered by what your store measured where "
                          "it measured a step.")
    # dropout is not in a good fit's base recipe, but the store measured it helping: it leads
    assert ("1. dropout (study arm: dropout) Not in this recipe, but it helped on your data: "
            "dropout sets dropout=0.2. Measured: dropout=0.2 +4.0 points [") in out
    assert "Not recommended: weight_decay: measured: weight_decay=0.1 -5.0 points [" in out
    assert ("Warning: The model is far too large for the data trained from scratch: 2,000,000 "
            "parameters for 500 training examples") in out


def test_from_store_does_not_raise_what_the_store_measured_to_hurt(store, tmp_path):
    path = tmp_path / "next.toml"
    out = ok(["recommend", "--from-store", str(store), "--arm", "weight_decay", "--emit-config",
              str(path)])
    assert "Current regularization: weight_decay=0.1." in out
    assert "start with weight_decay" not in out  # raising it to 0.3 would follow a measured loss
    assert "Not recommended: weight_decay: measured: weight_decay=0.1 -5.0 points [" in out
    config = load_config("study", path=path)
    assert config.regularization.weight_decay == 0.1  # baseline = the observed setting
    assert config.arms == ["baseline", "dropout=0.2", "input_noise=0.1", "early_stopping=20"]


def run_error(args):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    return result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["recommend", "--family", "svm", "--n-train", "10", "--classes", "2", "--params", "5"],
         "Invalid value for argument `family`. Expected one of 'mlp', 'cnn', 'transformer', "
         "'rnn'. Received: family='svm'"),
        (["recommend", "--n-train", "10", "--classes", "2", "--params", "5"],
         "Invalid value for argument `family`. Expected one of 'mlp', 'cnn', 'transformer', "
         "'rnn' (pass --family; required). Received: nothing"),
        (BASE[:-2], "Invalid value for argument `n_params`. Expected an integer >= 1 (pass "
                    "--params; required). Received: nothing"),
        (BASE[:-4] + ["--classes", "1", "--params", "5"],
         "Invalid value for argument `num_classes`. Expected an integer >= 2. Received: "
         "num_classes=1"),
        (BASE + ["--train-acc", "1.5", "--val-acc", "0.5"],
         "Invalid value for argument `train_acc`. Expected a number in [0, 1]. Received: "
         "train_acc=1.5"),
        (BASE + ["--train-acc", "0.9"],
         "Invalid value for argument `val_acc`. Expected a number in [0, 1] (give train_acc and "
         "val_acc together). Received: val_acc=None"),
        (BASE + ["--modality", "audio"],
         "Invalid value for argument `modality`. Expected one of 'image', 'text', 'tabular', "
         "'signal'. Received: modality='audio'"),
        (BASE + ["--emit-config", "x.toml", "--data", "wine", "--seeds", "0"],
         "Invalid value for argument `seeds`. Expected an integer >= 1. Received: seeds=0"),
        (BASE + ["--emit-config", "x.toml"],
         "Invalid value for argument `data`. Expected your dataset: a built-in name or a path (the "
         "study runs on your data). Received: no data"),
    ],
)
def test_bad_input_is_one_red_line(args, message):
    assert run_error(args) == f"Error: {message}\n"


def test_bad_store_arguments(store, tmp_path):
    assert run_error(["recommend", "--from-store", str(store), "--arm", "nope"]) == (
        "Error: Invalid value for argument `arm`. Expected one of 'baseline', 'dropout', "
        "'weight_decay', 'early_stopping'. Received: arm='nope'\n")
    missing = tmp_path / "none.sqlite"
    assert run_error(["recommend", "--from-store", str(missing)]) == (
        f"Error: Run store '{missing}' not found. Expected the runs.sqlite file written by "
        "`reglab study` or `reglab sweep`. Received: a path that does not exist\n")


def test_a_stored_user_model_needs_family(scripted, tmp_path):
    s = scripted
    runs = []
    for seed, acc in enumerate((0.6, 0.61, 0.62)):
        run = s.make_run("baseline", seed, acc)
        spec = run.spec.model_copy(update={"model": run.spec.model.model_copy(update={"name": "mypkg.nets:resnet50"})})
        runs.append(s.FakeRun(spec.key(), spec, "done", run.history, run.final, run.diagnosis))
    path = tmp_path / "runs.sqlite"
    s.write_store(path, runs, study="mine")
    assert run_error(["recommend", "--from-store", str(path)]) == (
        "Error: Invalid value for argument `family`. Expected one of 'mlp', 'cnn', 'transformer', "
        "'rnn' (pass --family; the stored model 'mypkg.nets:resnet50' is not a reglab model). "
        "Received: nothing\n")
    out = ok(["recommend", "--from-store", str(path), "--family", "resnet50", "--modality", "image"])
    assert "1. pretrained weights" in out

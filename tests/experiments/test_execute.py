"""run_one: what each regularization field turns into, exact final metrics, same seed same numbers."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reglab.experiments import execute
from reglab.experiments.spec import (
    DataSpec,
    DistillationSpec,
    EarlyStoppingSpec,
    ModelSpec,
    RegularizationSpec,
    RunSpec,
)

DATA = DataSpec(name="mnist1d", train_size=100)


def _spec(**reg) -> RunSpec:
    return RunSpec(epochs=2, batch_size=50, data=DATA, regularization=RegularizationSpec(**reg))


def test_same_seed_same_numbers_and_final_metrics():
    spec = _spec(dropout=0.2)
    a, b = execute.run_one(spec), execute.run_one(spec)
    assert a.history == {**b.history, "seconds": a.history["seconds"]}
    assert {k: v for k, v in a.final.items()} == b.final
    other = execute.run_one(spec.model_copy(update={"seed": 1}))
    assert other.history["train_loss"] != a.history["train_loss"]
    f = a.final
    assert "gap" not in f and "test_gap" not in f  # derived by reglab.analysis.quantities
    assert (f["n_train"], f["num_classes"], f["n_params"]) == (100, 10, 15210)
    assert f["best_epoch"] == a.history["best_epoch"] and f["stopped_epoch"] == 2
    assert a.history["epoch"] == [1, 2]
    assert sum(f["weight_hist"]["counts"]) == f["weight_hist"]["n"] == 40 * 100 + 100 * 100 + 100 * 10


def test_final_metrics_are_plain_cross_entropy_of_the_final_weights():
    model, history, splits = execute.train(_spec(label_smoothing=0.3), device="cpu", progress=False)
    model.eval()
    with torch.no_grad():
        logits = model(splits.x_test)
    loss, acc = execute.evaluate_split(model, splits.x_test, splits.y_test, "classification", batch_size=128)
    assert loss == pytest.approx(float(F.cross_entropy(logits, splits.y_test)), rel=1e-6)
    assert acc == int((logits.argmax(1) == splits.y_test).sum()) / len(splits.y_test)


def test_optimizer_groups_and_no_hidden_decay():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    plain = execute._optimizer(_spec(), model)
    assert isinstance(plain, torch.optim.AdamW)
    assert [g["weight_decay"] for g in plain.param_groups] == [0.0]  # not AdamW's default 0.01
    decayed = execute._optimizer(_spec(weight_decay=0.1), model)
    assert [g["weight_decay"] for g in decayed.param_groups] == [0.1, 0.0]
    assert [len(g["params"]) for g in decayed.param_groups] == [2, 2]  # weights / biases
    assert all(p.dim() >= 2 for p in decayed.param_groups[0]["params"])
    sgd = execute._optimizer(RunSpec(optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.5}), model)
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["momentum"] == 0.5


def test_model_options_from_regularization():
    info = execute.load_splits(DATA).info
    noisy = execute.build_model(ModelSpec(name="mlp"), info, input_noise=0.25)
    assert isinstance(noisy, nn.Sequential) and type(noisy[0]).__name__ == "GaussianNoise" and noisy[0].std == 0.25
    dropped = execute.build_model(ModelSpec(name="mlp"), info, dropout=0.3)
    assert [m.p for m in dropped.modules() if isinstance(m, nn.Dropout) or type(m).__name__ == "Dropout"][:1] == [0.3]
    digits = execute.load_splits(DataSpec(name="digits")).info
    res = execute.build_model(ModelSpec(name="resnet"), digits, drop_path=0.1)
    assert any(type(m).__name__ == "DropPath" for m in res.modules())


def test_max_norm_holds_after_training():
    model, _, _ = execute.train(_spec(max_norm=0.5), device="cpu", progress=False)
    norms = [m.weight.norm(dim=1).max().item() for m in model.modules() if isinstance(m, nn.Linear)]
    assert max(norms) <= 0.5 + 1e-5


def test_l1_shrinks_weights_and_early_stopping_restores():
    base = execute.run_one(_spec())
    l1 = execute.run_one(_spec(l1=1e-2))
    assert l1.final["weight_hist"]["abs_mean"] < base.final["weight_hist"]["abs_mean"]
    es = execute.run_one(RunSpec(epochs=30, batch_size=50, data=DATA, regularization=RegularizationSpec(
        early_stopping=EarlyStoppingSpec(monitor="val_loss", patience=2))))
    h = es.history
    assert h["stopped_epoch"] < 30
    assert h["best_epoch"] == 1 + min(range(len(h["val_loss"])), key=lambda i: h["val_loss"][i])
    assert es.final["val_loss"] == pytest.approx(h["val_loss"][h["best_epoch"] - 1], rel=1e-5)


def test_mixup_and_distillation_runs():
    mix = execute.run_one(_spec(mixup_alpha=0.2, label_smoothing=0.1))
    assert math.isfinite(mix.final["test_loss"]) and len(mix.history["train_loss"]) == 2
    execute._TEACHERS.clear()
    spec = _spec(distillation=DistillationSpec(teacher=ModelSpec(name="mlp", options={"width": 32}), teacher_epochs=1))
    out = execute.run_one(spec)
    assert len(execute._TEACHERS) == 1  # the teacher is trained once per process and reused
    execute.run_one(spec)
    assert len(execute._TEACHERS) == 1
    assert out.final["n_params"] == 15210  # the student, not the teacher


def test_self_distillation_teacher_has_the_students_architecture():
    execute._TEACHERS.clear()
    student = ModelSpec(name="mlp", options={"width": 16})
    spec = RunSpec(epochs=1, batch_size=50, data=DATA, model=student,
                   regularization=RegularizationSpec(distillation=DistillationSpec(teacher=None)))
    out = execute.run_one(spec)
    (teacher,) = next(iter(execute._TEACHERS.values()))
    assert sum(p.numel() for p in teacher.parameters()) == out.final["n_params"] == 40 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10


def test_distilled_run_gives_the_same_numbers_whether_its_teacher_is_cached_or_not(monkeypatch):
    spec = _spec(dropout=0.1, distillation=DistillationSpec(teacher=ModelSpec(name="mlp", options={"width": 16})))
    monkeypatch.setattr(execute, "_TEACHERS", {})
    trained_here = execute.run_one(spec)  # trains the teacher first (in a forked RNG)
    assert len(execute._TEACHERS) == 1
    cached = execute.run_one(spec)  # reuses it
    assert trained_here.history == {**cached.history, "seconds": trained_here.history["seconds"]}
    assert trained_here.final == cached.final


def test_user_callbacks_see_every_epoch_after_the_techniques_own_and_can_stop_the_run():
    from reglab.training import LambdaCallback

    seen = []
    spec = _spec(early_stopping=EarlyStoppingSpec(patience=50)).model_copy(update={"epochs": 4})
    watch = LambdaCallback(on_epoch_end=lambda trainer, epoch, logs: seen.append(
        (epoch, logs["val_acc"], [type(c).__name__ for c in trainer.callbacks])))
    plain = execute.run_one(spec)
    watched = execute.run_one(spec, callbacks=[watch])
    assert watched.history == {**plain.history, "seconds": watched.history["seconds"]}  # a watcher changes nothing
    assert [(e, v) for e, v, _ in seen] == list(zip(plain.history["epoch"], plain.history["val_acc"]))
    assert seen[0][2] == ["EarlyStopping", "LambdaCallback"]
    stop = LambdaCallback(on_epoch_end=lambda trainer, epoch, logs: epoch == 2 and trainer.request_stop("enough."))
    stopped = execute.run_one(spec, callbacks=[stop])
    assert stopped.history["epoch"] == [1, 2]
    assert stopped.history["stop_reason"] == "enough; restored the weights of epoch 2."  # early stopping restores


def test_augment_policy_becomes_the_first_batch_transform(monkeypatch):
    from reglab.augment import MixupCutmix, Pipeline, RandomShift
    from reglab.training import Trainer

    seen = []
    original = Trainer.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append(self.batch_transform)

    monkeypatch.setattr(Trainer, "__init__", spy)
    plain = execute.run_one(_spec())
    shifted = execute.run_one(_spec(augment="shift"))
    both = execute.run_one(_spec(augment="auto", mixup_alpha=0.2))
    assert seen[0] is None
    assert isinstance(seen[1], RandomShift) and seen[1].max_shift == 4
    assert isinstance(seen[2], Pipeline)
    assert [type(t) for t in seen[2].transforms] == [RandomShift, MixupCutmix]
    assert plain.history["train_loss"] != shifted.history["train_loss"]
    again = execute.run_one(_spec(augment="shift"))  # same seed, same numbers
    assert again.history["train_loss"] == shifted.history["train_loss"] and again.final["test_acc"] == shifted.final["test_acc"]


def test_image_augmentation_fills_borders_with_the_training_minimum():
    from reglab.augment import Pipeline, RandomAffine, RandomCrop

    spec = RunSpec(epochs=1, data=DataSpec(name="digits", train_size=100), model=ModelSpec(name="cnn2d"),
                   regularization=RegularizationSpec(augment="auto"))
    splits = execute.load_splits(spec.data)
    transform = execute.augmentation(spec, splits)
    assert isinstance(transform, Pipeline) and [type(t) for t in transform.transforms] == [RandomCrop, RandomAffine]
    black = float(splits.x_train.min())
    assert black < -0.1  # standardised: a black pixel is not 0
    assert transform.transforms[0].fill == black and transform.transforms[1].fill == black
    assert execute.augmentation(RunSpec(data=DATA), execute.load_splits(DATA)) is None


def test_lr_schedule_of_the_spec_drives_the_run_and_keeps_old_keys():
    from reglab.experiments.spec import OptimizerSpec

    plain = _spec()
    assert "schedule" not in plain.to_dict()["optimizer"]  # default schedule: keys as before
    spec = plain.model_copy(update={"epochs": 4, "optimizer": OptimizerSpec(
        lr=0.01, schedule="cosine", warmup_epochs=1)})
    assert spec.to_dict()["optimizer"] == {"name": "adamw", "lr": 0.01, "momentum": 0.9,
                                           "schedule": "cosine", "warmup_epochs": 1}
    assert RunSpec.from_dict(spec.to_dict()) == spec and spec.key() != plain.key()
    lrs = execute.run_one(spec).history["lr"]
    cos = [0.005 * (1 + math.cos(math.pi * t / 3)) for t in range(3)]
    assert lrs == pytest.approx([0.005] + cos)  # warm-up from lr / 2, then cosine over 3 epochs

"""``supports`` / ``run_vectorized``: the study runner's batched path against ``run_one``."""

from __future__ import annotations

import pytest
import torch

from reglab.errors import ConfigError
from reglab.experiments.execute import run_one
from reglab.experiments.spec import (
    DataSpec,
    DistillationSpec,
    EarlyStoppingSpec,
    ModelSpec,
    OptimizerSpec,
    RegularizationSpec,
    RunSpec,
)
from reglab.experiments.vectorized import run_vectorized, supports

DATA = DataSpec(name="blobs", train_size=120, options={"n_samples": 600})
MODEL = ModelSpec(name="mlp", options={"width": 24})


def _spec(arm="baseline", seed=0, epochs=3, **reg) -> RunSpec:
    return RunSpec(
        arm=arm,
        seed=seed,
        epochs=epochs,
        batch_size=32,
        data=DATA,
        model=MODEL,
        regularization=RegularizationSpec(**reg),
    )


def test_supports_accepts_arms_sharing_an_architecture():
    specs = [_spec(), _spec("dropout", dropout=0.3), _spec("wd", seed=1, weight_decay=0.1), _spec("mixup", mixup_alpha=0.2)]
    assert supports(specs) == (True, "4 runs share model 'mlp': trained as one batched model")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"regularization": RegularizationSpec(cutmix_alpha=1.0)}, "cutmix_alpha=1.0 is not supported by the vectorized runner"),
        (
            {"regularization": RegularizationSpec(distillation=DistillationSpec())},
            "distillation (teacher 'mlp') is not supported by the vectorized runner",
        ),
        (
            {"model": ModelSpec(name="cnn1d")},
            "model 'cnn1d' is not supported by the vectorized runner (it trains 'mlp', 'linear_head')",
        ),
        (
            {"model": ModelSpec(name="mlp", options={"norm": "batch"})},
            "model option norm='batch' is not supported by the vectorized runner",
        ),
        (
            {"batch_size": 64},
            "runs 0 and 1 differ in batch_size (32 vs 64); the vectorized runner needs one shared batch_size",
        ),
        (
            {"optimizer": OptimizerSpec(name="sgd")},
            "runs 0 and 1 differ in optimizer ('adamw' vs 'sgd'); the vectorized runner needs one shared optimizer",
        ),
        (
            {"optimizer": OptimizerSpec(schedule="cosine", warmup_epochs=1)},
            "learning-rate schedule 'cosine' is not supported by the vectorized runner",
        ),
    ],
)
def test_supports_names_the_field_it_cannot_batch(change, reason):
    other = _spec().model_copy(update=change)
    assert supports([_spec(), other]) == (False, reason)


def test_supports_refuses_regression_and_other_data():
    reg = DataSpec(name="diabetes")
    assert supports([_spec().model_copy(update={"data": reg})]) == (
        False,
        "dataset 'diabetes' is a regression task; the vectorized runner trains classifiers",
    )
    other = _spec().model_copy(update={"data": DataSpec(name="blobs", train_size=100)})
    ok, reason = supports([_spec(), other])
    assert not ok
    assert reason.startswith("runs 0 and 1 differ in data spec (DataSpec(name='blobs'")
    assert supports([]) == (False, "no run to train")


def test_run_vectorized_refuses_what_supports_refuses():
    with pytest.raises(ConfigError) as exc:
        run_vectorized([_spec(cutmix_alpha=1.0)])
    assert str(exc.value) == (
        "Cannot train these runs vectorized: cutmix_alpha=1.0 is not supported by the vectorized runner."
    )
    with pytest.raises(ValueError) as exc:
        run_vectorized([_spec()], masks="approx")
    assert str(exc.value) == (
        "Invalid value for argument `masks`. Expected one of 'exact', 'fast'. Received: masks='approx'"
    )


def test_run_vectorized_reproduces_run_one_for_every_member():
    specs = [
        _spec("baseline", seed=0),
        _spec("dropout", seed=0, dropout=0.3),
        _spec("weight_decay", seed=1, weight_decay=0.1),
        _spec("stack", seed=2, dropout=0.2, weight_decay=0.05, label_smoothing=0.1, epochs=4,
              early_stopping=EarlyStoppingSpec(patience=1)),
    ]
    results = run_vectorized(specs)
    assert [r.spec for r in results] == specs
    for spec, result in zip(specs, results):
        single = run_one(spec)
        assert set(result.final) == set(single.final)
        assert set(result.history) == set(single.history)
        for key in ("epoch", "best_epoch", "stopped_epoch", "stop_reason", "lr"):
            assert result.history[key] == single.history[key], (spec.arm, key)
        for key in ("train_loss", "val_loss", "train_acc", "val_acc", "grad_norm_mean"):
            assert result.history[key] == pytest.approx(single.history[key], rel=1e-5, abs=1e-6), (spec.arm, key)
        for key in ("test_acc", "train_acc", "val_acc", "best_epoch", "stopped_epoch",
                    "n_params", "num_classes", "n_train"):
            assert result.final[key] == pytest.approx(single.final[key], abs=1e-6), (spec.arm, key)
        for key in ("test_loss", "train_loss", "val_loss"):
            assert result.final[key] == pytest.approx(single.final[key], rel=1e-5), (spec.arm, key)
        assert result.final["weight_hist"]["counts"] == single.final["weight_hist"]["counts"]
        assert result.seconds > 0


def test_run_vectorized_leaves_the_global_rng_alone():
    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    run_vectorized([_spec(epochs=1, dropout=0.2)], masks="fast")
    assert torch.equal(torch.rand(3), expected)


def test_progress_prints_one_line_per_epoch_with_member_means(capsys):
    specs = [_spec(seed=0, epochs=2), _spec(seed=1, epochs=2, dropout=0.4)]
    results = run_vectorized(specs, progress=True, masks="fast")
    lines = capsys.readouterr().err.strip().splitlines()
    expected = []
    for e in range(2):
        tl = sum(r.history["train_loss"][e] for r in results) / 2
        ta = sum(r.history["train_acc"][e] for r in results) / 2
        va = sum(r.history["val_acc"][e] for r in results) / 2
        expected.append(
            f"epoch {e + 1}: 2/2 members training, train_loss {tl:.4f} train_acc {ta:.3f} val_acc {va:.3f}"
        )
    assert lines == expected


def test_members_over_seeds_match_sequential_runs_in_distribution():
    # The check: six seeds of one arm, vectorized vs the sequential Trainer (run_one).
    # Exact masks: every seed's final test loss equals its single run's (short run, rounding only).
    # Fast masks: other random streams, so compare the means over seeds, within 3 standard errors
    # of the difference of two independent means.
    import math

    data = DataSpec(name="mnist1d", train_size=300)
    specs = [
        RunSpec(arm="dropout", seed=s, epochs=3, batch_size=32, data=data, model=MODEL,
                regularization=RegularizationSpec(dropout=0.3))
        for s in range(6)
    ]
    single = torch.tensor([run_one(s).final["test_loss"] for s in specs], dtype=torch.float64)
    exact = torch.tensor([r.final["test_loss"] for r in run_vectorized(specs)], dtype=torch.float64)
    fast = torch.tensor([r.final["test_loss"] for r in run_vectorized(specs, masks="fast")], dtype=torch.float64)
    torch.testing.assert_close(exact, single, rtol=1e-5, atol=0)
    se = math.sqrt(single.var().item() / 6 + fast.var().item() / 6)
    assert abs(fast.mean().item() - single.mean().item()) <= 3 * se
    assert not torch.equal(fast, single)


def test_supports_refuses_a_model_whose_forward_is_not_its_layer_sequence(monkeypatch):
    import reglab.experiments.execute as execute
    from torch import nn

    class Residual(nn.Module):  # Linear layers only, but the forward adds a skip connection
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 3)

        def forward(self, x):
            return self.b(x + self.a(x))

    monkeypatch.setattr(execute, "build_model", lambda *args, **kwargs: Residual())
    assert supports([_spec()]) == (
        False,
        "model 'mlp' does not run its layers in sequence; it is not supported by the vectorized runner",
    )


MNIST1D = DataSpec(name="mnist1d", train_size=200)


def _signal_spec(arm, seed=0, **reg) -> RunSpec:
    return RunSpec(arm=arm, seed=seed, epochs=2, batch_size=50, data=MNIST1D, model=MODEL,
                   regularization=RegularizationSpec(**reg))


def test_run_vectorized_reproduces_run_one_with_shift_augmentation_and_mixup():
    specs = [
        _signal_spec("baseline"),
        _signal_spec("augment", augment="shift"),
        _signal_spec("augment+mixup", seed=1, augment="auto", mixup_alpha=0.2, dropout=0.1),
    ]
    assert supports(specs) == (True, "3 runs share model 'mlp': trained as one batched model")
    results = run_vectorized(specs)
    for spec, result in zip(specs, results):
        single = run_one(spec)
        for key in ("train_loss", "val_loss", "train_acc", "val_acc"):
            assert result.history[key] == pytest.approx(single.history[key], rel=1e-5, abs=1e-6), (spec.arm, key)
        assert result.final["test_acc"] == pytest.approx(single.final["test_acc"], abs=1e-6)
    # the augmentation changed the training: the baseline and the shifted run differ from epoch 1
    assert results[0].history["train_loss"][0] != pytest.approx(results[1].history["train_loss"][0], rel=1e-4)


def test_supports_refuses_image_augmentation_and_tabular_policies_with_the_reason():
    digits = DataSpec(name="digits", train_size=100)
    spec = RunSpec(arm="a", epochs=1, data=digits, model=MODEL, regularization=RegularizationSpec(augment="crop"))
    assert supports([spec]) == (
        False, "augment='crop' on 'digits' is not supported by the vectorized runner (it batches the 'shift' policy of 1-D signals)"
    )
    blobs = _spec("a", augment="shift")
    ok, reason = supports([blobs])
    assert not ok
    assert reason == (
        "augment='shift': Invalid value for argument `augment`. Expected 'none' for 'blobs' (tabular features have "
        "no augmentation policy). Received: augment='shift'"
    )

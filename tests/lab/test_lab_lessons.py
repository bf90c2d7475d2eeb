"""Each demo shows its lesson at the defaults its page opens with, on every seed 0-4.

The demos' job functions are driven directly (no HTTP, no browser) and their streamed events are
checked against the lesson the page teaches, so a later change of defaults that hides it fails.
"""

from __future__ import annotations

from typing import Any

import pytest

from reglab.lab.demos import PREPARERS
from reglab.lab.jobs import Job
from reglab.lab.schemas import PARAMS_BY_DEMO, EarlyStoppingParams, MixQuery

SEEDS = range(5)


def run_demo(demo: str, **params: Any) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """``(done payload, streamed events)`` of one job at the demo's defaults plus ``params``."""
    p = PARAMS_BY_DEMO[demo](**params)
    job = Job(demo, p.model_dump(), unwatched_timeout=float("inf"))
    out = PREPARERS[demo](p)(job)
    return out, job.events_since(0)


@pytest.mark.parametrize("seed", SEEDS)
def test_overfitting_shows_at_the_defaults(seed):
    _, events = run_demo("overfit", seed=seed)
    epochs = [d for n, d in events if n == "epoch"]
    val = [e["val_loss"] for e in epochs]
    train = [e["train_loss"] for e in epochs]
    gap = [e["gap"] for e in epochs]
    best = min(range(len(val)), key=val.__getitem__)
    assert best < len(val) // 2  # the minimum comes early ...
    assert val[-1] > 1.5 * val[best]  # ... then the validation loss climbs
    assert train[-1] < 0.75 * train[best]  # while the training loss keeps falling
    assert train[-1] < val[-1]
    assert gap[-1] > 0.05  # a positive gap of more than 5 points at the end ...
    assert gap[-1] > gap[best]  # ... that grew since the best epoch


@pytest.mark.parametrize("seed", SEEDS)
def test_weight_decay_twin_wins_on_validation_at_the_defaults(seed):
    out, events = run_demo("weight_decay", seed=seed)
    reg = out["regularized"]["history"]["val_acc"][-1]
    base = out["baseline"]["history"]["val_acc"][-1]
    assert reg > base
    assert out["regularized"]["weight_norm"] < out["baseline"]["weight_norm"]
    frame = [d for n, d in events if n == "epoch" and "boundary" in d][-1]["boundary"]
    assert len(frame["z"]) == len(frame["z"][0]) == 80  # the finer grid of this demo


@pytest.mark.parametrize("seed", SEEDS)
def test_early_stopping_restores_the_best_epoch_of_the_whole_run(seed):
    assert EarlyStoppingParams().continue_past_stop is False
    out, _ = run_demo("early_stopping", seed=seed, continue_past_stop=True)  # show what follows the stop
    full_best = min(out["history"]["val_loss"])
    assert out["early_stop_epoch"] is not None and out["early_stop_epoch"] < EarlyStoppingParams().epochs
    assert out["restored"]["val_loss"] <= 1.02 * full_best


@pytest.mark.parametrize("method", ["mixup", "cutmix"])
@pytest.mark.parametrize("seed", SEEDS)
def test_default_mix_visibly_mixes_every_batch(method, seed):
    from reglab.lab.demos.mixing import mix_payload

    pairs = mix_payload(MixQuery(method=method, seed=seed))["pairs"]
    lam = pairs["lam"]
    assert pairs["partner"] == [1, 2, 3, 4, 5, 0]  # never mixed with itself
    share = [min(v, 1 - v) for v in lam]  # how much of its partner each mixed sample holds
    assert sum(v >= 0.1 for v in share) >= 3 and sum(share) / len(share) >= 0.15
    for row, v in zip(pairs["targets"], lam):  # targets carry the pair's lambda
        assert max(row) == pytest.approx(max(v, 1 - v), abs=1e-3) or max(row) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("seed", SEEDS)
def test_mc_dropout_is_unsure_away_from_the_data(seed):
    out, _ = run_demo("mc_dropout", seed=seed)
    assert out["spread_far"] > 1.5 * out["spread_on_train"]
    assert out["history"]["val_acc"][-1] > 0.9  # the mean prediction is still a good classifier
    assert len(out["mean"]) == len(out["spread"]) == 50


@pytest.mark.parametrize("seed", SEEDS)
def test_label_smoothing_brings_confidence_towards_accuracy(seed):
    out, _ = run_demo("overfit", seed=seed, label_smoothing=0.2)  # what the label smoothing page trains
    smoothed, plain = out["regularized"], out["baseline"]
    assert smoothed["confidence"] < plain["confidence"] - 0.05
    assert abs(smoothed["confidence"] - smoothed["accuracy"]) < abs(plain["confidence"] - plain["accuracy"])


def test_stochastic_depth_drops_each_block_at_its_scheduled_rate():
    out, events = run_demo("stochastic_depth", seed=0, epochs=20, train_size=200)
    assert out["rates"] == pytest.approx([0.5 * i / 7 for i in range(8)], abs=1e-4)
    drops = [d["dropped"] for n, d in events if n == "epoch" and d["arm"] == "stochastic"]
    observed = [sum(col) / len(col) for col in zip(*drops)]  # 20 epochs x 200 samples per block
    assert observed[0] == 0.0
    assert observed == pytest.approx(out["rates"], abs=0.03)
    assert all("dropped" not in d for n, d in events if n == "epoch" and d["arm"] == "plain")



def test_distillation_temperature_flattens_the_soft_targets():
    out, events = run_demo("distillation", seed=0, teacher_epochs=20, epochs=2)
    teacher = [d for n, d in events if n == "teacher"][0]
    assert teacher["temperatures"] == [1.0, 2.0, 4.0, 8.0, 20.0]
    for i, label in enumerate(teacher["labels"]):
        p_true = [per_t[i][label] for per_t in teacher["soft_targets"]]
        assert p_true == sorted(p_true, reverse=True)  # higher T, flatter targets ...
        assert p_true[0] > p_true[-1] > 0.5  # strictly flatter at T = 20, still on the teacher's side
    assert sorted({d["arm"] for n, d in events if n == "epoch"}) == ["distilled", "scratch", "teacher"]


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_distilled_student_beats_the_student_from_labels_alone(seed):
    out, _ = run_demo("distillation", seed=seed)
    assert out["distilled"]["history"]["val_acc"][-1] > out["scratch"]["history"]["val_acc"][-1]

"""Schedules of regularization strength and their effect inside the Trainer."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from reglab.training import (
    ConstantSchedule,
    LambdaCallback,
    LinearSchedule,
    Penalty,
    RegularizationSchedule,
    StepSchedule,
    Trainer,
)

from training_helpers import make_model


def test_linear_schedule_values():
    s = LinearSchedule(0.0, 0.5, epochs=5)
    assert [s(e) for e in range(1, 8)] == [0.0, 0.125, 0.25, 0.375, 0.5, 0.5, 0.5]
    assert [LinearSchedule(0.2, 0.0, epochs=1)(e) for e in (1, 2)] == [0.0, 0.0]
    assert [LinearSchedule(1.0, 0.0, epochs=3)(e) for e in (1, 2, 3, 4)] == [1.0, 0.5, 0.0, 0.0]


def test_step_and_constant_schedule_values():
    s = StepSchedule(1.0, {6: 0.5, 3: 0.0})
    assert [s(e) for e in range(1, 8)] == [1.0, 1.0, 0.0, 0.0, 0.0, 0.5, 0.5]
    assert s.changes == {3: 0.0, 6: 0.5}
    assert ConstantSchedule(0.3)(9) == 0.3


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: LinearSchedule(0.0, 1.0, epochs=0), "Invalid value for argument `epochs`. Expected an integer >= 1. Received: epochs=0"),
        (lambda: LinearSchedule(math.nan, 1.0, epochs=2), "Invalid value for argument `start`. Expected a number in (-inf, inf). Received: start=nan"),
        (lambda: StepSchedule(1.0, {1: 0.0}), "Invalid value for argument `changes`. Expected epochs that are integers >= 2. Received: changes epoch 1"),
        (lambda: StepSchedule(1.0, [(2, 0.0)]), "Invalid value for argument `changes`. Expected a mapping {epoch: value}. Received: changes=[(2, 0.0)]"),
        (lambda: StepSchedule(1.0, {2: "off"}), "Invalid value for argument `changes[2]`. Expected a number in (-inf, inf). Received: changes[2]='off'"),
        (lambda: LinearSchedule(0.0, 1.0, 3)(0), "Invalid value for argument `epoch`. Expected an integer >= 1. Received: epoch=0"),
        (lambda: RegularizationSchedule("mixup", ConstantSchedule(1.0)),
         "Invalid value for argument `target`. Expected one of 'dropout', 'batch_transform', 'penalty'. Received: target='mixup'"),
        (lambda: RegularizationSchedule("dropout", 0.5), "Invalid value for argument `schedule`. Expected a Schedule (a callable epoch -> value). Received: schedule=0.5"),
        (lambda: RegularizationSchedule("dropout", ConstantSchedule(1.0)).value(3),
         "Invalid value for argument `schedule`. Expected a number in [0, 1) at every epoch for target 'dropout'. Received: schedule(3)=1.0"),
        (lambda: RegularizationSchedule("batch_transform", ConstantSchedule(0.5)).value(2),
         "Invalid value for argument `schedule`. Expected 0 or 1 at every epoch for target 'batch_transform'. Received: schedule(2)=0.5"),
        (lambda: RegularizationSchedule("penalty", ConstantSchedule(-1.0)).value(1),
         "Invalid value for argument `schedule`. Expected a number in [0, inf) at every epoch for target 'penalty'. Received: schedule(1)=-1.0"),
    ],
)
def test_bad_schedule_arguments(build, message):
    with pytest.raises(ValueError) as exc:
        build()
    assert str(exc.value) == message


def test_dropout_warmup_sets_the_rate_at_each_epoch_start(loaders):
    train, val = loaders
    model = make_model(dropout=0.0)
    rates = []
    record = LambdaCallback(on_epoch_start=lambda t, e: rates.append((e, t.model[2].p)))
    sched = RegularizationSchedule("dropout", LinearSchedule(0.0, 0.5, epochs=3))
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), 0.1), None, train, val, epochs=4,
                      schedules=[sched], callbacks=[record])
    trainer.fit()
    assert rates == [(1, 0.0), (2, 0.25), (3, 0.5), (4, 0.5)]
    assert trainer.schedule_values == {"dropout": 0.5}


def test_batch_transform_switched_off_after_an_epoch(loaders):
    train, val = loaders
    calls = []
    epoch = {"now": 0}

    def transform(x, y):
        calls.append(epoch["now"])
        return x, F.one_hot(y, 3).float()

    model = make_model()
    track = LambdaCallback(on_epoch_start=lambda t, e: epoch.__setitem__("now", e))
    Trainer(model, torch.optim.SGD(model.parameters(), 0.1), None, train, val, epochs=4, batch_transform=transform,
            schedules=[RegularizationSchedule("batch_transform", StepSchedule(1.0, {3: 0.0}))],
            callbacks=[track]).fit()
    assert calls == [1] * len(train) + [2] * len(train)


def test_penalty_schedule_scales_the_penalty():
    # Zero data loss, L2 penalty scaled by 0 in epoch 1 and by 2 in epoch 2 (SGD lr 0.1, coef 0.05).
    model = nn.Linear(6, 4)
    w0 = model.weight.detach().clone()
    train = [(torch.randn(4, 6), torch.zeros(4, dtype=torch.long))]
    weights = []
    Trainer(model, torch.optim.SGD(model.parameters(), 0.1), lambda out, y: (out * 0.0).sum(), train, epochs=2,
            penalties=[Penalty("l2", 0.05)],
            schedules=[RegularizationSchedule("penalty", StepSchedule(0.0, {2: 2.0}))],
            callbacks=[LambdaCallback(on_epoch_end=lambda t, e, l: weights.append(model.weight.detach().clone()))]).fit()
    assert torch.equal(weights[0], w0)
    assert torch.allclose(weights[1], w0 * (1 - 0.1 * 2.0 * 0.05 * 2), atol=1e-7)


def _lrs(schedule, epochs, lr=0.1, **kw):
    """The lr of each epoch when the Trainer steps the scheduler after every epoch."""
    from reglab.training.schedules import lr_scheduler

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = lr_scheduler(opt, schedule, epochs, **kw)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        if sched is not None:
            opt.step()
            sched.step()
    return out


def test_cosine_with_warmup_follows_the_formula():
    import math

    lrs = _lrs("cosine", 10, warmup_epochs=2)
    warm = [0.1 / 3, 0.1 * 2 / 3]  # linear from lr / (warmup + 1) to lr
    cos = [0.05 * (1 + math.cos(math.pi * t / 8)) for t in range(8)]  # then cosine to 0 over 8
    assert lrs == pytest.approx(warm + cos)
    assert _lrs("cosine", 4) == pytest.approx([0.05 * (1 + math.cos(math.pi * t / 4)) for t in range(4)])


def test_step_constant_and_onecycle_match_torch():
    assert _lrs("step", 7, step_size=3, gamma=0.5) == pytest.approx([0.1] * 3 + [0.05] * 3 + [0.025])
    assert _lrs("constant", 3) == [0.1, 0.1, 0.1]
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    ref = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=6)
    expected = []
    for _ in range(6):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step()
    assert _lrs("onecycle", 6) == pytest.approx(expected)
    assert expected[0] == pytest.approx(0.1 / 25)  # torch's div_factor 25, rising toward lr


def test_lr_scheduler_rejects_bad_arguments():
    from reglab.training.schedules import lr_scheduler

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError) as exc:
        lr_scheduler(opt, "cosine", 5, warmup_epochs=5)
    assert str(exc.value) == ("Invalid value for argument `warmup_epochs`. Expected an integer below "
                              "epochs=5. Received: warmup_epochs=5")
    with pytest.raises(ValueError) as exc:
        lr_scheduler(opt, "step", 5, warmup_epochs=1)
    assert str(exc.value) == ("Invalid value for argument `warmup_epochs`. Expected 0 (warm-up applies "
                              "to the cosine schedule). Received: warmup_epochs=1")
    with pytest.raises(ValueError) as exc:
        lr_scheduler(opt, "linear", 5)
    assert str(exc.value).startswith("Invalid value for argument `schedule`.")

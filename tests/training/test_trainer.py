"""Trainer loop: metrics, eval mode, hooks (penalties, clipping, noise, max-norm, teacher), errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from reglab.training import GradientNoise, History, LambdaCallback, Penalty, Trainer
from reglab.training.history import METRICS

from training_helpers import make_data, make_loaders, make_model


def sgd(model, lr=0.1):
    return torch.optim.SGD(model.parameters(), lr)


def zero_loss(out, y):
    """A loss whose gradient is exactly zero: only the hooks move the weights."""
    return (out * 0.0).sum()


def test_history_keys_follow_the_contract(loaders):
    train, val = loaders
    model = make_model()
    history = Trainer(model, sgd(model), None, train, val, epochs=3).fit()
    d = history.to_dict()
    assert list(d) == [
        "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "grad_norm_mean",
        "grad_norm_max", "seconds", "best_epoch", "stopped_epoch", "stop_reason",
        "diverged_epoch",
    ]
    assert d["epoch"] == [1, 2, 3]
    assert d["stopped_epoch"] == 3 and d["stop_reason"] == "Completed all 3 epochs."
    assert d["best_epoch"] == d["val_loss"].index(min(d["val_loss"])) + 1
    assert "gap" not in d  # gaps come from the final weights (reglab.analysis.quantities)
    assert History.from_dict(d) == history


def test_history_from_dict_rejects_wrong_keys():
    d = History().to_dict()
    d.pop("lr")
    d["extra"] = []
    with pytest.raises(ValueError) as exc:
        History.from_dict(d)
    assert str(exc.value) == (
        "Invalid value for argument `data`. Expected a dict with the keys of History.to_dict(). "
        "Received: data with missing 'lr' and unknown 'extra' keys"
    )


def test_history_from_dict_rejects_unequal_lengths():
    d = History().to_dict()
    d["epoch"] = [1]
    with pytest.raises(ValueError) as exc:
        History.from_dict(d)
    assert str(exc.value) == (
        "Invalid value for argument `data`. Expected per-epoch lists of equal length. Received: lengths epoch=1, "
        "train_loss=0, train_acc=0, val_loss=0, val_acc=0, lr=0, grad_norm_mean=0, grad_norm_max=0, seconds=0"
    )


def test_train_metrics_are_batch_size_weighted_means():
    # lr = 0: the weights never move, so the epoch metrics equal a direct computation.
    x, y = make_data(10)
    train = DataLoader(TensorDataset(x, y), batch_size=4)  # batches of 4, 4, 2
    model = make_model()
    history = Trainer(model, sgd(model, 0.0), None, train, epochs=1).fit()
    with torch.no_grad():
        out = model(x)
    assert history.train_loss[0] == pytest.approx(F.cross_entropy(out, y).item(), rel=1e-6)
    assert history.train_acc[0] == (out.argmax(1) == y).sum().item() / 10
    norms = []
    for xb, yb in train:
        model.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        norms.append(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]).item())
    assert history.grad_norm_mean[0] == pytest.approx(sum(norms) / 3, rel=1e-6)
    assert history.grad_norm_max[0] == pytest.approx(max(norms), rel=1e-6)
    assert history.val_loss == [None] and history.val_acc == [None] and history.best_epoch is None


def test_validation_runs_in_eval_mode_without_grad(loaders):
    train, val = loaders
    seen = []

    class Probe(nn.Module):
        def forward(self, x):
            seen.append((self.training, torch.is_grad_enabled()))
            return x

    model = nn.Sequential(make_model(dropout=0.5), Probe())
    trainer = Trainer(model, sgd(model), None, train, val, epochs=1)
    trainer.fit()
    assert seen[: len(train)] == [(True, True)] * len(train)
    assert seen[len(train):] == [(False, False)] * len(val)
    assert model.training  # mode restored after validation
    # Dropout is off in evaluation: two evaluations agree, and match a manual eval-mode pass.
    first, second = trainer.evaluate(val), trainer.evaluate(val)
    assert first == second
    model.eval()
    with torch.no_grad():
        xs, ys = zip(*val)
        out = model(torch.cat(xs))
    assert first["loss"] == pytest.approx(F.cross_entropy(out, torch.cat(ys)).item(), rel=1e-6)
    assert first["acc"] == (out.argmax(1) == torch.cat(ys)).sum().item() / 48


def test_same_seed_same_numbers():
    def once():
        train, val = make_loaders()
        model = make_model(dropout=0.3)
        trainer = Trainer(model, torch.optim.Adam(model.parameters(), 0.01), None, train, val, epochs=3, seed=7)
        h = trainer.fit().to_dict()
        h.pop("seconds")
        return h, model.state_dict()

    (h1, w1), (h2, w2) = once(), once()
    assert h1 == h2
    assert all(torch.equal(w1[k], w2[k]) for k in w1)


def test_lr_is_logged_per_epoch_and_scheduler_steps(loaders):
    train, val = loaders
    model = make_model()
    opt = sgd(model, 0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    history = Trainer(model, opt, None, train, val, epochs=5, lr_scheduler=sched).fit()
    assert history.lr == [0.1, 0.1, 0.05, 0.05, 0.025]


def test_reduce_lr_on_plateau_gets_the_validation_loss():
    train, _ = make_loaders(n=32)
    x, y = next(iter(train))
    values = iter([1.0, 0.5, 0.75, 0.875, 0.25])
    model = make_model()
    opt = sgd(model, 0.1)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    history = Trainer(model, opt, None, train, [(x, y)], epochs=5, lr_scheduler=plateau,
                      eval_loss_fn=lambda out, target: torch.tensor(next(values))).fit()
    assert history.val_loss == [1.0, 0.5, 0.75, 0.875, 0.25]
    assert history.lr == [0.1, 0.1, 0.1, 0.05, 0.025]


def test_clip_grad_norm_bounds_the_norm_and_logs_the_unclipped_one(loaders):
    train, _ = loaders
    model = make_model()
    records = []

    def record(trainer, batch, logs):
        after = torch.nn.utils.get_total_norm([p.grad for p in trainer.model.parameters()])
        records.append((logs["grad_norm"].item(), after.item()))

    Trainer(model, sgd(model, 1.0), None, train, epochs=2, clip_grad_norm=0.3,
            callbacks=[LambdaCallback(on_batch_end=record)]).fit()
    assert len(records) == 2 * len(train)
    assert any(before > 0.3 for before, _ in records)  # clipping was exercised
    for before, after in records:
        assert after <= 0.3 * (1 + 1e-5)
        assert after == pytest.approx(min(before, 0.3), rel=1e-5)


def test_clip_grad_value_bounds_every_element(loaders):
    train, _ = loaders
    model = make_model()
    largest = []

    def record(trainer, batch, logs):
        largest.append(max(p.grad.abs().max().item() for p in trainer.model.parameters()))

    Trainer(model, sgd(model, 1.0), None, train, epochs=1, clip_grad_value=0.01,
            callbacks=[LambdaCallback(on_batch_end=record)]).fit()
    assert max(largest) == pytest.approx(0.01)  # hit the bound and never exceeded it


def test_max_norm_keeps_every_unit_within_the_bound(loaders):
    train, _ = loaders
    model = make_model()
    with torch.no_grad():
        model[0].weight.mul_(10.0)  # start far outside the ball
    worst = []

    def record(trainer, batch, logs):
        worst.append(max(m.weight.norm(dim=1).max().item() for m in (trainer.model[0], trainer.model[3])))

    Trainer(model, sgd(model, 1.0), None, train, epochs=2, max_norm=0.5,
            callbacks=[LambdaCallback(on_batch_end=record)]).fit()
    assert max(worst) <= 0.5 * (1 + 1e-6)
    assert model[0].weight.norm(dim=1).max().item() == pytest.approx(0.5, rel=1e-5)


def test_max_norm_matches_reglab_penalties_max_norm():
    from reglab.penalties import max_norm_

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    reference = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    reference.load_state_dict(model.state_dict())
    train = [(torch.randn(4, 8), torch.zeros(4, dtype=torch.long))]
    Trainer(model, sgd(model, 0.0), None, train, epochs=1, max_norm=0.2).fit()
    max_norm_(reference, 0.2)
    for a, b in zip(model.parameters(), reference.parameters()):
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-7)


def test_gradient_noise_follows_the_annealed_std():
    # With a zero loss the gradient is pure noise: N(0, eta / (1 + t)^gamma) at step t (from 0).
    model = nn.Linear(100, 100)
    x, y = torch.zeros(40, 100), torch.zeros(40, dtype=torch.long)
    train = DataLoader(TensorDataset(x, y), batch_size=4)  # 10 steps
    stds = []
    Trainer(model, sgd(model, 0.0), zero_loss, train, epochs=1, gradient_noise=GradientNoise(eta=0.3, gamma=0.55),
            callbacks=[LambdaCallback(on_batch_end=lambda t, b, logs: stds.append(model.weight.grad.std().item()))]).fit()
    n = model.weight.numel()
    se = 1.0 / math.sqrt(2 * (n - 1))  # relative standard error of a sample std (normal data)
    for step, std in enumerate(stds):
        expected = math.sqrt(0.3 / (1 + step) ** 0.55)
        assert abs(std / expected - 1) < 5 * se, (step, std, expected)


def test_gradient_noise_is_reproducible_from_the_seed():
    def noise(seed):
        model = nn.Linear(5, 3)
        train = DataLoader(TensorDataset(torch.zeros(4, 5), torch.zeros(4, dtype=torch.long)), batch_size=4)
        grads = []
        Trainer(model, sgd(model, 0.0), zero_loss, train, epochs=2, seed=seed, gradient_noise=0.1,
                callbacks=[LambdaCallback(on_batch_end=lambda t, b, l: grads.append(model.weight.grad.clone()))]).fit()
        return torch.stack(grads)

    assert torch.equal(noise(3), noise(3))
    assert not torch.equal(noise(3), noise(4))


@pytest.mark.parametrize(
    ("penalty", "expected"),
    [
        (Penalty("l2", 0.05), lambda w: w - 0.1 * 0.05 * 2 * w),
        (Penalty("l1", 0.05), lambda w: w - 0.1 * 0.05 * torch.sign(w)),
        (Penalty("elastic_net", 0.05, l1_ratio=0.25), lambda w: w - 0.1 * 0.05 * (0.25 * torch.sign(w) + 0.75 * 2 * w)),
    ],
)
def test_penalty_gradient_moves_weights_not_biases(penalty, expected):
    model = nn.Linear(6, 4)
    w0, b0 = model.weight.detach().clone(), model.bias.detach().clone()
    train = DataLoader(TensorDataset(torch.randn(4, 6), torch.zeros(4, dtype=torch.long)), batch_size=4)
    Trainer(model, sgd(model, 0.1), zero_loss, train, epochs=1, penalties=[penalty]).fit()
    assert torch.allclose(model.weight, expected(w0), atol=1e-7)
    assert torch.equal(model.bias, b0)


def test_batch_transform_gets_training_batches_only_and_soft_targets_work(loaders):
    train, val = loaders
    calls = []

    def to_soft(x, y):
        calls.append(x.shape[0])
        return x, F.one_hot(y, 3).float()

    model = make_model()
    trainer = Trainer(model, sgd(model, 0.0), None, train, val, epochs=1, batch_transform=to_soft)
    history = trainer.fit()
    assert calls == [16] * len(train)
    xs, ys = zip(*train)
    with torch.no_grad():
        out = model(torch.cat(xs))
    # Soft one-hot targets: cross-entropy and accuracy (against the arg-max) equal the hard ones.
    assert history.train_loss[0] == pytest.approx(F.cross_entropy(out, torch.cat(ys)).item(), rel=1e-6)
    assert history.train_acc[0] == (out.argmax(1) == torch.cat(ys)).sum().item() / 96


def test_a_list_of_batch_transforms_runs_in_order_with_the_trainer_generator(loaders):
    from reglab.augment import Mixup, Pipeline, RandomShift

    train, val = loaders
    seen, inputs = [], []

    def record(x, y):
        seen.append((x.clone(), y.clone()))
        return x, y

    def record_input(x, y):
        inputs.append((x.clone(), y.clone()))
        return x, y

    def fit(transform):
        model = make_model()
        Trainer(model, sgd(model, 0.1), None, train, val, epochs=2, seed=3, batch_transform=transform).fit()
        return model

    a = fit([record_input, RandomShift(2), Mixup(0.4, num_classes=3), record])
    recorded = list(seen)
    seen.clear()
    b = fit(Pipeline([record_input, RandomShift(2), Mixup(0.4, num_classes=3), record]))
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    assert len(recorded) == 2 * len(train) and all(torch.equal(x1, x2) and torch.equal(y1, y2)
                                                   for (x1, y1), (x2, y2) in zip(recorded, seen))
    assert recorded[0][1].shape == (16, 3)  # the mixing ran before `record`: soft targets
    # the shift ran on the Trainer's generator (seeded from seed=3): replay the first batch
    x0, y0 = inputs[0]
    g = torch.Generator().manual_seed(3)
    shifted, _ = RandomShift(2)(x0, y0, generator=g)
    mixed, soft = Mixup(0.4, num_classes=3)(shifted, y0, generator=g)
    assert torch.equal(recorded[0][0], mixed) and torch.equal(recorded[0][1], soft)


def test_a_list_with_a_non_callable_is_refused(loaders):
    train, _ = loaders
    model = make_model()
    with pytest.raises(ValueError) as err:
        Trainer(model, sgd(model, 0.1), None, train, epochs=1, batch_transform=[lambda x, y: (x, y), "shift"])
    assert str(err.value) == (
        "Invalid value for argument `transforms`. Expected a list of callables (x, y) -> (x, y). "
        "Received: transforms item 'shift'"
    )


def test_teacher_logits_reach_the_loss_and_teacher_is_frozen():
    train, val = make_loaders(shuffle=False)
    teacher = make_model(seed=5, dropout=0.5).train()
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    seen = []

    def kd(student, teacher_logits, target):
        seen.append((teacher_logits.requires_grad, teacher_logits.clone()))
        return F.cross_entropy(student, target) + 0.0 * teacher_logits.sum()

    model = make_model()
    history = Trainer(model, sgd(model, 0.0), kd, train, val, epochs=1, teacher=teacher).fit()
    assert not teacher.training
    assert all(torch.equal(v, before[k]) for k, v in teacher.state_dict().items())
    xs, _ = zip(*train)
    with torch.no_grad():
        expected = teacher(torch.cat(xs))  # eval mode: deterministic
    assert not any(grad for grad, _ in seen)
    assert torch.equal(torch.cat([t for _, t in seen]), expected)
    assert len(history) == 1


def test_default_loss_with_teacher_is_distillation(loaders):
    from reglab.losses import DistillationLoss

    train, val = loaders
    model = make_model()
    trainer = Trainer(model, sgd(model), None, train, val, teacher=[make_model(seed=1), make_model(seed=2)])
    assert isinstance(trainer.loss_fn, DistillationLoss)
    assert trainer.eval_loss_fn is F.cross_entropy
    history = trainer.fit()
    assert len(history) == 10 and all(math.isfinite(v) for v in history.train_loss)


def test_divergence_without_early_stopping_rolls_back_to_last_finite_epoch(loaders):
    train, val = loaders
    state = {"epoch": 0}
    snapshots = {}

    def loss_fn(out, y):
        return F.cross_entropy(out, y) * (math.inf if state["epoch"] == 3 else 1.0)

    cbs = [
        LambdaCallback(on_epoch_start=lambda t, e: state.__setitem__("epoch", e)),
        LambdaCallback(on_epoch_end=lambda t, e, l: snapshots.__setitem__(e, {k: v.clone() for k, v in t.model.state_dict().items()})),
    ]
    model = make_model()
    history = Trainer(model, sgd(model), loss_fn, train, val, epochs=6, callbacks=cbs).fit()
    assert history.epoch == [1, 2] and history.stopped_epoch == 3
    assert history.stop_reason == (
        "Stopped at epoch 3: the training loss became inf at batch 1 of 6 (diverged); restored the weights of epoch 2."
    )
    assert all(torch.equal(v, snapshots[2][k]) for k, v in model.state_dict().items())


def test_divergence_in_the_first_epoch_restores_the_initial_weights(loaders):
    train, _ = loaders
    model = make_model()
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    history = Trainer(model, sgd(model, 1e6), None, train, epochs=3).fit()
    assert history.epoch == [] and history.stopped_epoch == 1
    assert history.stop_reason.startswith("Stopped at epoch 1: the training loss became ")
    assert history.stop_reason.endswith(" (diverged); restored the initial weights.")
    assert all(torch.equal(v, initial[k]) for k, v in model.state_dict().items())


def test_interrupt_without_callbacks_rolls_back_to_the_last_completed_epoch(loaders):
    train, _ = loaders
    model = make_model()
    snapshots = {}

    def on_batch_end(trainer, batch, logs):
        if trainer._current_epoch == 2 and batch == 2:
            raise KeyboardInterrupt

    cbs = [
        LambdaCallback(on_epoch_end=lambda t, e, l: snapshots.__setitem__(e, {k: v.clone() for k, v in t.model.state_dict().items()})),
        LambdaCallback(on_batch_end=on_batch_end),
    ]
    trainer = Trainer(model, sgd(model), None, train, epochs=4, callbacks=cbs)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    assert trainer.history.stop_reason == "Interrupted by KeyboardInterrupt during epoch 2; restored the weights of epoch 1."
    assert all(torch.equal(v, snapshots[1][k]) for k, v in model.state_dict().items())


def test_callback_hooks_order_and_stop_request(loaders):
    train, val = loaders
    events = []

    class Recorder(LambdaCallback):
        def __init__(self, name, order):
            super().__init__(order=order)
            self.name = name

        def on_fit_start(self, trainer):
            events.append((self.name, "fit_start"))

        def on_epoch_start(self, trainer, epoch):
            events.append((self.name, "epoch_start", epoch))

        def on_epoch_end(self, trainer, epoch, logs):
            events.append((self.name, "epoch_end", epoch, sorted(logs) == sorted(METRICS)))
            if epoch == 2 and self.name == "a":
                trainer.request_stop("Stopped at epoch 2: enough.")

        def on_fit_end(self, trainer):
            events.append((self.name, "fit_end"))

    model = make_model()
    history = Trainer(model, sgd(model), None, train, val, epochs=5, callbacks=[Recorder("late", 5), Recorder("a", 0)]).fit()
    assert events == [
        ("a", "fit_start"), ("late", "fit_start"),
        ("a", "epoch_start", 1), ("late", "epoch_start", 1),
        ("a", "epoch_end", 1, True), ("late", "epoch_end", 1, True),
        ("a", "epoch_start", 2), ("late", "epoch_start", 2),
        ("a", "epoch_end", 2, True), ("late", "epoch_end", 2, True),
        ("a", "fit_end"), ("late", "fit_end"),
    ]
    assert history.stop_reason == "Stopped at epoch 2: enough." and history.stopped_epoch == 2


def test_batch_logs(loaders):
    train, _ = loaders
    logs_seen = []
    model = make_model()
    Trainer(model, sgd(model), None, train, epochs=1,
            callbacks=[LambdaCallback(on_batch_end=lambda t, b, logs: logs_seen.append((b, logs)))]).fit()
    assert [b for b, _ in logs_seen] == list(range(len(train)))
    assert [logs["step"] for _, logs in logs_seen] == list(range(1, len(train) + 1))
    assert all(logs["batch_size"] == 16 and logs["loss"].dim() == 0 for _, logs in logs_seen)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "Invalid value for argument `epochs`. Expected an integer >= 1. Received: epochs=0"),
        ({"seed": -1}, "Invalid value for argument `seed`. Expected an integer >= 0. Received: seed=-1"),
        ({"clip_grad_norm": 0.0}, "Invalid value for argument `clip_grad_norm`. Expected a number in (0, inf). Received: clip_grad_norm=0.0"),
        ({"max_norm": -1.0}, "Invalid value for argument `max_norm`. Expected a number in (0, inf). Received: max_norm=-1.0"),
        ({"clip_grad_norm": 1.0, "clip_grad_value": 0.5},
         "Invalid value for argument `clip_grad_value`. Expected None when clip_grad_norm is set (clip by one rule). Received: clip_grad_value=0.5"),
        ({"gradient_noise": -0.1}, "Invalid value for argument `gradient_noise`. Expected None, a GradientNoise or a number > 0 (eta). Received: gradient_noise=-0.1"),
        ({"progress": "yes"}, "Invalid value for argument `progress`. Expected None, True or False. Received: progress='yes'"),
        ({"callbacks": [print]}, "Invalid value for argument `callbacks`. Expected reglab.training.Callback instances. Received: callbacks item <built-in function print>"),
        ({"schedules": [1.0]}, "Invalid value for argument `schedules`. Expected RegularizationSchedule instances. Received: schedules item 1.0"),
        ({"penalties": [0.1]}, "Invalid value for argument `penalties`. Expected callables penalty(model) -> tensor. Received: penalties item 0.1"),
        ({"teacher": []}, "Invalid value for argument `teacher`. Expected None, a torch.nn.Module or a non-empty list of them. Received: teacher=[]"),
        ({"device": "gpu"}, "Invalid value for argument `device`. Expected a torch device such as 'cpu' or 'cuda'. Received: device='gpu'"),
    ],
)
def test_bad_trainer_arguments(loaders, kwargs, message):
    train, _ = loaders
    model = make_model()
    with pytest.raises(ValueError) as exc:
        Trainer(model, sgd(model), None, train, **kwargs)
    assert str(exc.value) == message


def test_bad_positional_arguments(loaders):
    train, _ = loaders
    model = make_model()
    with pytest.raises(ValueError) as exc:
        Trainer(model, sgd(model), None, None)
    assert str(exc.value) == (
        "Invalid value for argument `train_loader`. Expected an iterable of (input, target) batches. Received: train_loader=None"
    )
    with pytest.raises(ValueError) as exc:
        Trainer("mlp", sgd(model), None, train)
    assert str(exc.value) == "Invalid value for argument `model`. Expected a torch.nn.Module. Received: model='mlp'"
    with pytest.raises(ValueError) as exc:
        Trainer(model, None, None, train)
    assert str(exc.value) == "Invalid value for argument `optimizer`. Expected a torch.optim.Optimizer. Received: optimizer=None"


def test_bad_gradient_noise_arguments():
    with pytest.raises(ValueError) as exc:
        GradientNoise(eta=0.0)
    assert str(exc.value) == "Invalid value for argument `eta`. Expected a number in (0, inf). Received: eta=0.0"
    with pytest.raises(ValueError) as exc:
        GradientNoise(eta=0.1, gamma=-1)
    assert str(exc.value) == "Invalid value for argument `gamma`. Expected a number in [0, inf). Received: gamma=-1"

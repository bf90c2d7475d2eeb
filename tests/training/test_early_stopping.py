"""EarlyStopping: scripted metric sequences (decision), restore-best on every exit (action)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from reglab.training import EarlyStopping, LambdaCallback, Trainer

from training_helpers import make_loaders, make_model


def run(es: EarlyStopping, values: list[float]) -> tuple[int | None, list[str]]:
    """Feed values for epochs 1, 2, ...; return the stop epoch (or None) and all reasons."""
    reasons = []
    for epoch, value in enumerate(values, start=1):
        stop, reason = es.evaluate(value, epoch)
        reasons.append(reason)
        if stop:
            return epoch, reasons
    return None, reasons


def test_patience_counts_epochs_without_improvement():
    es = EarlyStopping(patience=3)
    stop, reasons = run(es, [1.0, 0.9, 0.8, 0.85, 0.86, 0.87, 0.1])
    assert stop == 6
    assert es.best_epoch == 3 and es.best == 0.8
    assert reasons == [
        "val_loss improved to 1 at epoch 1.",
        "val_loss improved to 0.9 at epoch 2.",
        "val_loss improved to 0.8 at epoch 3.",
        "val_loss has not improved for 1 epoch of 3 (best 0.8 at epoch 3).",
        "val_loss has not improved for 2 epochs of 3 (best 0.8 at epoch 3).",
        "Stopped at epoch 6: val_loss did not improve for 3 epochs (best 0.8 at epoch 3).",
    ]


def test_equal_value_is_not_an_improvement_and_patience_zero_stops_at_once():
    es = EarlyStopping(patience=0)
    stop, reasons = run(es, [1.0, 1.0])
    assert stop == 2
    assert reasons[-1] == "Stopped at epoch 2: val_loss did not improve for 1 epoch (best 1 at epoch 1)."


def test_min_delta_requires_beating_best_by_more_than_delta():
    es = EarlyStopping(patience=2, min_delta=0.01)
    # 0.95 beats 1.0 by 0.05; 0.945 beats 0.95 by only 0.005; 0.9401 by 0.0099 (< 0.01).
    stop, reasons = run(es, [1.0, 0.95, 0.945, 0.9401, 0.5])
    assert stop == 4
    assert es.best_epoch == 2
    assert reasons[-1] == (
        "Stopped at epoch 4: val_loss did not improve by more than 0.01 for 2 epochs (best 0.95 at epoch 2)."
    )


def test_baseline_never_beaten_stops_after_patience_even_while_improving():
    es = EarlyStopping(patience=2, baseline=0.5)
    stop, reasons = run(es, [0.9, 0.8, 0.7])
    assert stop == 2
    assert es.best_epoch == 2 and es.best == 0.8
    assert reasons == [
        "val_loss improved to 0.9 at epoch 1 but has not beaten the baseline 0.5 for 1 epoch of 2.",
        "Stopped at epoch 2: val_loss did not beat the baseline 0.5 within 2 epochs (best 0.8 at epoch 2).",
    ]


def test_baseline_beaten_resets_the_wait():
    es = EarlyStopping(patience=2, baseline=0.5)
    stop, reasons = run(es, [0.6, 0.4, 0.45, 0.46, 0.1])
    assert stop == 4
    assert reasons[1] == "val_loss improved to 0.4 at epoch 2."
    assert reasons[-1] == "Stopped at epoch 4: val_loss did not improve for 2 epochs (best 0.4 at epoch 2)."


def test_start_from_epoch_ignores_warmup_epochs():
    es = EarlyStopping(patience=2, start_from_epoch=2)
    stop, reasons = run(es, [0.1, 0.2, 0.9, 0.95, 0.96])
    assert stop == 5
    assert es.best_epoch == 3 and es.best == 0.9
    assert reasons[:2] == [
        "Epoch 1 is not monitored (start_from_epoch=2).",
        "Epoch 2 is not monitored (start_from_epoch=2).",
    ]
    assert reasons[-1] == "Stopped at epoch 5: val_loss did not improve for 2 epochs (best 0.9 at epoch 3)."


def test_max_mode():
    es = EarlyStopping(monitor="val_acc", mode="max", patience=2, min_delta=0.0)
    stop, reasons = run(es, [0.5, 0.6, 0.6, 0.59, 0.9])
    assert stop == 4
    assert es.best_epoch == 2
    assert reasons[-1] == "Stopped at epoch 4: val_acc did not improve for 2 epochs (best 0.6 at epoch 2)."


def test_nan_is_never_an_improvement():
    es = EarlyStopping(patience=1)
    stop, reasons = run(es, [math.nan])
    assert stop == 1
    assert reasons == ["Stopped at epoch 1: val_loss did not improve for 1 epoch (no value counted as an improvement yet)."]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "avg"}, "Invalid value for argument `mode`. Expected one of 'min', 'max'. Received: mode='avg'"),
        ({"patience": -1}, "Invalid value for argument `patience`. Expected an integer >= 0. Received: patience=-1"),
        ({"patience": 2.5}, "Invalid value for argument `patience`. Expected an integer >= 0. Received: patience=2.5"),
        ({"min_delta": -0.1}, "Invalid value for argument `min_delta`. Expected a number in [0, inf). Received: min_delta=-0.1"),
        ({"baseline": math.nan}, "Invalid value for argument `baseline`. Expected a number in (-inf, inf). Received: baseline=nan"),
        ({"start_from_epoch": -2}, "Invalid value for argument `start_from_epoch`. Expected an integer >= 0. Received: start_from_epoch=-2"),
        ({"restore_best": "yes"}, "Invalid value for argument `restore_best`. Expected True or False. Received: restore_best='yes'"),
        ({"monitor": ""}, "Invalid value for argument `monitor`. Expected a metric name such as 'val_loss'. Received: monitor=''"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError) as exc:
        EarlyStopping(**kwargs)
    assert str(exc.value) == message


def test_unknown_monitor_lists_the_logged_metrics():
    train, _ = make_loaders()
    model = make_model()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), 0.1), None, train, epochs=2,
                      callbacks=[EarlyStopping(monitor="val_loss")])
    with pytest.raises(ValueError) as exc:
        trainer.fit()
    assert str(exc.value) == (
        "Invalid value for argument `monitor`. Expected one of the logged metrics 'train_loss', "
        "'train_acc', 'lr', 'grad_norm_mean', 'grad_norm_max', 'seconds'. Received: monitor='val_loss'"
    )


def test_monitor_without_value_lists_the_metrics_that_have_values():
    # Regression targets: no accuracy, so val_acc is logged as None.
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(32, 4, generator=g), torch.randn(32, 1, generator=g)
    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    model = torch.nn.Linear(4, 1)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), 0.1), F.mse_loss, data, data, epochs=2,
                      callbacks=[EarlyStopping(monitor="val_acc", mode="max")])
    with pytest.raises(ValueError) as exc:
        trainer.fit()
    assert str(exc.value) == (
        "Invalid value for argument `monitor`. Expected one of the logged metrics 'train_loss', "
        "'val_loss', 'lr', 'grad_norm_mean', 'grad_norm_max', 'seconds'. Received: monitor='val_acc'"
    )


# -- acting: restore the best weights on every exit -----------------------------------------------
class Scripted:
    """An eval loss returning scripted per-epoch values (the val loader has one batch)."""

    def __init__(self, values: list[float]) -> None:
        self.values = list(values)
        self.calls = 0

    def __call__(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        value = self.values[self.calls]
        self.calls += 1
        return torch.tensor(value)


def scripted_trainer(values, es, epochs, extra_callbacks=(), loss_fn=None):
    train, _ = make_loaders(n=64, batch_size=16)
    x, y = next(iter(train))
    val = [(x, y)]  # one batch: one eval_loss_fn call per epoch
    model = make_model()
    weights = {}
    record = LambdaCallback(on_epoch_end=lambda t, e, logs: weights.__setitem__(
        e, {k: v.clone() for k, v in t.model.state_dict().items()}))
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), 0.5), loss_fn, train, val, epochs=epochs,
                      callbacks=[es, record, *extra_callbacks], eval_loss_fn=Scripted(values))
    return trainer, weights


def assert_weights(model, expected):
    state = model.state_dict()
    assert state.keys() == expected.keys()
    for k in state:
        assert torch.equal(state[k], expected[k]), k


def test_restore_when_patience_is_exhausted():
    trainer, weights = scripted_trainer([0.9, 0.5, 0.7, 0.8, 0.6, 0.1], EarlyStopping(patience=3), epochs=10)
    history = trainer.fit()
    assert history.stopped_epoch == 5 and history.best_epoch == 2
    assert history.epoch == [1, 2, 3, 4, 5]
    assert history.stop_reason == (
        "Stopped at epoch 5: val_loss did not improve for 3 epochs (best 0.5 at epoch 2); "
        "restored the weights of epoch 2."
    )
    assert_weights(trainer.model, weights[2])


def test_restore_when_last_epoch_is_reached():
    trainer, weights = scripted_trainer([0.9, 0.5, 0.7, 0.8], EarlyStopping(patience=5), epochs=4)
    history = trainer.fit()
    assert history.stopped_epoch == 4 and history.best_epoch == 2
    assert history.stop_reason == "Completed all 4 epochs; restored the weights of epoch 2."
    assert_weights(trainer.model, weights[2])


def test_restore_when_training_diverges():
    state = {"epoch": 0}

    def loss_fn(out, y):
        loss = F.cross_entropy(out, y)
        return loss * math.nan if state["epoch"] == 4 else loss

    counter = LambdaCallback(on_epoch_start=lambda t, e: state.__setitem__("epoch", e))
    trainer, weights = scripted_trainer([0.9, 0.5, 0.7, 0.8], EarlyStopping(patience=5), epochs=10,
                                        extra_callbacks=[counter], loss_fn=loss_fn)
    history = trainer.fit()
    assert history.epoch == [1, 2, 3] and history.stopped_epoch == 4 and history.best_epoch == 2
    assert history.stop_reason == (
        "Stopped at epoch 4: the training loss became nan at batch 1 of 4 (diverged); "
        "restored the weights of epoch 2."
    )
    assert_weights(trainer.model, weights[2])


def test_restore_on_keyboard_interrupt():
    def interrupt(trainer, batch, logs):
        if trainer._current_epoch == 4 and batch == 1:
            raise KeyboardInterrupt

    trainer, weights = scripted_trainer([0.9, 0.5, 0.7, 0.8], EarlyStopping(patience=5), epochs=10,
                                        extra_callbacks=[LambdaCallback(on_batch_end=interrupt)])
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    history = trainer.history
    assert history.epoch == [1, 2, 3] and history.stopped_epoch == 4 and history.best_epoch == 2
    assert history.stop_reason == (
        "Interrupted by KeyboardInterrupt during epoch 4; restored the weights of epoch 2."
    )
    assert_weights(trainer.model, weights[2])


def test_restore_best_false_keeps_the_last_weights():
    trainer, weights = scripted_trainer([0.9, 0.5, 0.7, 0.8, 0.6], EarlyStopping(patience=3, restore_best=False), 10)
    history = trainer.fit()
    assert history.stop_reason == "Stopped at epoch 5: val_loss did not improve for 3 epochs (best 0.5 at epoch 2)."
    assert history.best_epoch == 2
    assert_weights(trainer.model, weights[5])


def test_restored_model_evaluates_to_min_val_loss():
    # Real validation loss, dropout and batch norm: eval mode must make evaluation exact.
    train, val = make_loaders(n=96)
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(8, 32), torch.nn.BatchNorm1d(32), torch.nn.ReLU(), torch.nn.Dropout(0.3),
        torch.nn.Linear(32, 3),
    )
    trainer = Trainer(model, torch.optim.Adam(model.parameters(), 0.05), None, train, val, epochs=15,
                      callbacks=[EarlyStopping(patience=3)])
    history = trainer.fit()
    best = min(history.val_loss)
    assert history.best_epoch == history.val_loss.index(best) + 1
    assert history.best_epoch < history.stopped_epoch  # the test is only meaningful if it overfits/stops
    assert trainer.evaluate(val)["loss"] == best


def test_state_resets_on_a_second_fit():
    es = EarlyStopping(patience=1)
    trainer, _ = scripted_trainer([0.5, 0.625, 0.875, 0.9375], es, epochs=2)
    trainer.fit()
    assert es.best == 0.5 and es.stopped_epoch == 2
    trainer.fit()  # the scripted loss continues with 0.875, 0.9375
    assert es.best == 0.875 and es.best_epoch == 1 and es.stopped_epoch == 2


def test_state_dict_round_trip():
    es = EarlyStopping(patience=3)
    run(es, [1.0, 0.5, 0.7])
    other = EarlyStopping(patience=3)
    other.load_state_dict(es.state_dict())
    assert (other.best, other.best_epoch, other.wait, other.stopped_epoch) == (0.5, 2, 1, None)
    assert other.evaluate(0.8, 4) == es.evaluate(0.8, 4)

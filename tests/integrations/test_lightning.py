"""reglab's Lightning callbacks on a real ``lightning.pytorch.Trainer`` (tiny model, CPU)."""

from __future__ import annotations

import math
import signal

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

pl = pytest.importorskip("lightning.pytorch")

from reglab.augment import MixupCutmix  # noqa: E402
from reglab.integrations.lightning import (  # noqa: E402
    BatchTransformMixin,
    GradientNoiseCallback,
    GradientNormMonitor,
    MaxNormConstraint,
    RegularizationScheduler,
    RestoreBestEarlyStopping,
)
from reglab.nn import Dropout, DropPath  # noqa: E402
from reglab.training.schedules import LinearSchedule, StepSchedule  # noqa: E402


def _data(n: int = 32) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=16)


class Scripted(pl.LightningModule):
    """Trains for real; logs a scripted ``val_loss`` per epoch and records each epoch's weights."""

    def __init__(self, script, fail_at: int | None = None, error: type[BaseException] = RuntimeError):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(4, 8), Dropout(0.1), DropPath(0.0), nn.Linear(8, 2))
        self.script, self.fail_at, self.error = list(script), fail_at, error
        self.weights: dict[int, dict[str, torch.Tensor]] = {}
        self.rates: list[tuple[float, float]] = []

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, idx):
        if self.fail_at is not None and self.current_epoch + 1 == self.fail_at:
            raise self.error("boom")
        x, y = batch
        return F.cross_entropy(self(x), y)

    def validation_step(self, batch, idx):
        self.log("val_loss", float(self.script[self.current_epoch]))

    def on_validation_epoch_end(self):
        self.weights[self.current_epoch + 1] = {k: v.clone() for k, v in self.state_dict().items()}

    def on_train_epoch_start(self):
        self.rates.append((self.net[1].p, self.net[2].p))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.5, weight_decay=0.1)


def _fit(module, callbacks, epochs: int = 8, val: bool = True, **kwargs):
    trainer = pl.Trainer(
        max_epochs=epochs, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, callbacks=callbacks, **kwargs,
    )
    trainer.fit(module, _data(), _data() if val else None)
    return trainer


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_early_stop_restores_the_best_epoch_with_reglabs_reason():
    module = Scripted([3, 2, 1, 2, 3, 4, 5, 6])
    cb = RestoreBestEarlyStopping(patience=2)
    trainer = _fit(module, [cb])
    assert trainer.current_epoch == 5  # stopped after epoch 5 (1-based)
    assert (cb.best_epoch, cb.stopped_epoch, cb.restored_epoch) == (3, 5, 3)
    assert cb.reason == "Stopped at epoch 5: val_loss did not improve for 2 epochs (best 1 at epoch 3)."
    assert _same(module.state_dict(), module.weights[3])
    assert not _same(module.weights[5], module.weights[3])


def test_last_epoch_restores_the_best_weights():
    module = Scripted([3, 1, 2, 2])
    cb = RestoreBestEarlyStopping(patience=10)
    _fit(module, [cb], epochs=4)
    assert (cb.best_epoch, cb.stopped_epoch, cb.restored_epoch) == (2, None, 2)
    assert _same(module.state_dict(), module.weights[2])


def test_an_exception_restores_the_best_weights_and_propagates():
    module = Scripted([3, 1, 2, 2, 2], fail_at=4)
    cb = RestoreBestEarlyStopping(patience=10)
    with pytest.raises(RuntimeError, match="boom"):
        _fit(module, [cb])
    assert cb.restored_epoch == 2
    assert cb.reason == "Interrupted by RuntimeError; restored the weights of epoch 2."
    assert _same(module.state_dict(), module.weights[2])


def test_keyboard_interrupt_restores_the_best_weights_before_lightning_exits():
    module = Scripted([3, 1, 2, 2, 2], fail_at=4, error=KeyboardInterrupt)
    cb = RestoreBestEarlyStopping(patience=10)
    handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit):  # Lightning turns Ctrl-C into sys.exit(1)
            _fit(module, [cb])
    finally:
        signal.signal(signal.SIGINT, handler)  # Lightning ignores SIGINT from then on
    assert cb.reason == "Interrupted by KeyboardInterrupt; restored the weights of epoch 2."
    assert _same(module.state_dict(), module.weights[2])


def test_a_non_finite_metric_stops_at_once_and_restores():
    module = Scripted([2, 1, math.nan, 0.5])
    cb = RestoreBestEarlyStopping(patience=10)
    trainer = _fit(module, [cb])
    assert trainer.current_epoch == 3
    assert cb.reason == "Stopped at epoch 3: val_loss became nan (non-finite; best 1 at epoch 2)."
    assert _same(module.state_dict(), module.weights[2])


def test_the_state_is_saved_in_the_lightning_checkpoint_and_loaded_back(tmp_path):
    module = Scripted([3, 2, 1, 2, 3])
    cb = RestoreBestEarlyStopping(patience=5)
    trainer = _fit(module, [cb], epochs=4)
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    ckpt = torch.load(tmp_path / "last.ckpt", weights_only=False)
    state = ckpt["callbacks"][cb.state_key]
    assert cb.state_key == "RestoreBestEarlyStopping{'monitor': 'val_loss', 'mode': 'min'}"
    assert (state["best"], state["best_epoch"], state["wait"]) == (1.0, 3, 1)
    assert _same(state["best_weights"], module.weights[3])
    fresh = RestoreBestEarlyStopping(patience=5)
    fresh.load_state_dict(state)
    assert (fresh.best_epoch, fresh.best.rule.wait) == (3, 1)


def test_a_wrong_monitor_names_the_logged_metrics():
    with pytest.raises(ValueError) as info:
        _fit(Scripted([1, 1]), [RestoreBestEarlyStopping(monitor="val_acc")], epochs=2)
    assert str(info.value) == (
        "Invalid value for argument `monitor`. Expected one of the logged metrics 'val_loss'. Received: monitor='val_acc'"
    )


def test_gradient_norm_monitor_logs_the_total_norm_before_the_step():
    module, reference = Scripted([1]), Scripted([1])
    module.net[1].p = reference.net[1].p = 0.0  # deterministic step
    x, y = next(iter(_data()))
    F.cross_entropy(reference.train()(x), y).backward()
    expected = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in reference.parameters()]))
    trainer = _fit(module, [GradientNormMonitor()], epochs=1, max_steps=1, val=False)
    torch.testing.assert_close(trainer.callback_metrics["grad_norm_step"], expected)


def test_max_norm_bounds_every_unit_after_each_step():
    module = Scripted([1, 1, 1])
    _fit(module, [MaxNormConstraint(0.5)], epochs=3)
    for layer in (module.net[0], module.net[3]):
        norms = layer.weight.detach().norm(dim=1)
        assert norms.max().item() <= 0.5 + 1e-6
    first = module.net[0].weight.detach().norm(dim=1)
    assert ((first - 0.5).abs() < 1e-6).sum().item() >= 1  # some units sit on the bound
    free = Scripted([1, 1, 1])
    _fit(free, [], epochs=3)
    assert free.net[0].weight.detach().norm(dim=1).max().item() > 0.5  # without the constraint they pass it


class ZeroLoss(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(100, 100))

    def training_step(self, batch, idx):
        return (self.w * 0.0).sum()

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=1.0)


def test_gradient_noise_has_the_annealed_variance():
    module = ZeroLoss()
    pl.Trainer(max_steps=1, accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
               enable_model_summary=False, callbacks=[GradientNoiseCallback(eta=0.04, gamma=0.55, seed=3)]).fit(
        module, _data()
    )
    w = module.w.detach()
    # Step t=0: noise ~ N(0, eta / (1 + 0)^gamma) = N(0, 0.04); SGD lr 1 moves w by -noise.
    assert abs(w.mean().item()) < 5 * 0.2 / 100
    assert abs(w.std().item() - 0.2) < 5 * 0.2 / math.sqrt(2 * 9999)


def test_regularization_scheduler_sets_dropout_drop_path_and_weight_decay_per_epoch():
    module = Scripted([1, 1, 1, 1])
    sched = RegularizationScheduler(
        dropout=LinearSchedule(0.0, 0.3, epochs=4), drop_path=StepSchedule(0.0, {3: 0.2}),
        weight_decay=StepSchedule(1.0, {2: 0.0}),
    )
    trainer = _fit(module, [sched], epochs=4)
    assert [tuple(round(v, 6) for v in r) for r in module.rates] == [(0.0, 0.0), (0.1, 0.0), (0.2, 0.2), (0.3, 0.2)]
    assert trainer.optimizers[0].param_groups[0]["weight_decay"] == 0.0
    assert trainer.callback_metrics["schedule/dropout"].item() == pytest.approx(0.3)


def test_scheduler_needs_a_schedule():
    with pytest.raises(ValueError) as info:
        RegularizationScheduler()
    assert str(info.value) == (
        "Invalid value for argument `dropout`. Expected a Schedule for at least one of dropout, weight_decay, "
        "drop_path. Received: dropout=None"
    )


class Mixed(BatchTransformMixin, Scripted):
    batch_transform = MixupCutmix(mixup_alpha=0.4, cutmix_alpha=0.0, num_classes=2)

    def training_step(self, batch, idx):
        x, y = batch
        self.seen_train = y
        return F.cross_entropy(self(x), y)

    def validation_step(self, batch, idx):
        self.seen_val = batch[1]
        self.log("val_loss", 1.0)


def test_batch_transform_mixin_mixes_training_batches_only():
    module = Mixed([1])
    _fit(module, [], epochs=1)
    assert module.seen_train.dtype == torch.float32 and module.seen_train.shape == (16, 2)  # soft targets
    torch.testing.assert_close(module.seen_train.sum(1), torch.ones(16))
    assert module.seen_val.dtype == torch.int64  # validation untouched


def test_with_validation_every_second_epoch_only_fresh_values_count():
    module = Scripted([9, 3, 9, 1, 9, 2, 9, 2, 9, 9])  # odd epochs are never validated
    cb = RestoreBestEarlyStopping(patience=2)
    trainer = _fit(module, [cb], epochs=10, check_val_every_n_epoch=2)
    assert sorted(module.weights) == [2, 4, 6, 8]
    assert trainer.current_epoch == 8
    assert cb.reason == "Stopped at epoch 8: val_loss did not improve for 2 epochs (best 1 at epoch 4)."
    assert _same(module.state_dict(), module.weights[4])

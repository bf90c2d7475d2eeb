"""The Trainer on a CUDA device: every hook, checkpoints and resume (skipped without CUDA)."""

from __future__ import annotations

import math

import pytest
import torch

from reglab.augment import MixupCutmix
from reglab.data import TensorLoader
from reglab.training import EarlyStopping, ModelCheckpoint, Penalty, Trainer

from training_helpers import make_data, make_model

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def build(tmp_path, epochs):
    x, y = make_data(160, seed=3)
    train = TensorLoader(x[:120], y[:120], batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(1))
    val = TensorLoader(x[120:], y[120:], batch_size=20)
    model = make_model(seed=2, dropout=0.2)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    return Trainer(
        model, opt, None, train, val, epochs=epochs, device="cuda", seed=5,
        callbacks=[EarlyStopping(patience=50), ModelCheckpoint(tmp_path)],
        batch_transform=MixupCutmix(mixup_alpha=0.4, cutmix_alpha=0.0, num_classes=3),
        penalties=[Penalty("l1", 1e-4)], clip_grad_norm=1.0, gradient_noise=0.01, max_norm=3.0,
    )


def test_trainer_runs_every_hook_on_cuda_and_resumes(tmp_path):
    straight = build(tmp_path / "a", epochs=4)
    history = straight.fit()
    assert next(straight.model.parameters()).device.type == "cuda"
    assert history.epoch == [1, 2, 3, 4]
    assert all(math.isfinite(v) for v in history.train_loss + history.val_loss)
    assert straight.evaluate(straight.val_loader)["loss"] == min(history.val_loss)
    for layer in (straight.model[0], straight.model[3]):
        assert layer.weight.norm(dim=1).max().item() <= 3.0 * (1 + 1e-5)

    first = build(tmp_path / "b", epochs=2)
    first.fit()
    resumed = build(tmp_path / "b", epochs=4)
    again = resumed.fit(resume_from=tmp_path / "b")
    assert again.epoch == [1, 2, 3, 4]
    for key, value in straight.model.state_dict().items():
        assert torch.allclose(value, resumed.model.state_dict()[key], atol=1e-5), key

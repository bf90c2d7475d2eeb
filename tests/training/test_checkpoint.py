"""Checkpoints: resume bit-for-bit in a fresh process, best/last files, safe loading."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from reglab.errors import CheckpointError
from reglab.training import EarlyStopping, ModelCheckpoint, Trainer
from reglab.training.checkpoint import load_checkpoint

import resume_job
from training_helpers import make_model

HERE = Path(__file__).parent


def test_resume_in_a_fresh_process_matches_the_uninterrupted_run(tmp_path):
    straight = tmp_path / "straight.pt"
    resume_job.main("straight", str(tmp_path / "ckpt_straight"), str(straight))
    resume_job.main("crash", str(tmp_path / "ckpt"), str(tmp_path / "unused.pt"), 3)
    assert not (tmp_path / "unused.pt").exists()
    assert load_checkpoint(tmp_path / "ckpt", make_model(dropout=0.2))["epoch"] == 3
    resumed = tmp_path / "resumed.pt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    subprocess.run(
        [sys.executable, str(HERE / "resume_job.py"), "resume", str(tmp_path / "ckpt"), str(resumed)],
        check=True, env=env, timeout=120,
    )
    a = torch.load(straight, weights_only=True)
    b = torch.load(resumed, weights_only=True)
    assert a["history"] == b["history"]
    assert a["history"]["epoch"] == [1, 2, 3, 4, 5, 6]
    assert a["weights"].keys() == b["weights"].keys()
    for key in a["weights"]:
        assert torch.equal(a["weights"][key], b["weights"][key]), key


def test_model_checkpoint_writes_best_and_last(tmp_path, loaders):
    train, val = loaders
    model = make_model()
    ckpt = ModelCheckpoint(tmp_path)
    history = Trainer(model, torch.optim.SGD(model.parameters(), 0.5), None, train, val, epochs=4,
                      callbacks=[ckpt]).fit()
    best_epoch = history.val_loss.index(min(history.val_loss)) + 1
    assert ckpt.best_epoch == best_epoch
    last = torch.load(tmp_path / "last" / "state.pt", weights_only=True)
    best = torch.load(tmp_path / "best" / "state.pt", weights_only=True)
    assert last["epoch"] == 4 and best["epoch"] == best_epoch
    weights = load_file(tmp_path / "last" / "model.safetensors")
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best", "last"]


def test_resuming_a_finished_run_changes_nothing(tmp_path, loaders):
    train, val = loaders
    model = make_model()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), 0.5), None, train, val, epochs=6,
                      callbacks=[EarlyStopping(patience=1, min_delta=10.0), ModelCheckpoint(tmp_path)])
    first = trainer.fit()
    assert first.stopped_epoch == 2
    again = trainer.fit(resume_from=tmp_path)
    assert again.to_dict() == first.to_dict()


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(tmp_path / "nowhere", make_model())
    assert str(exc.value) == (
        f"No checkpoint found at {str(tmp_path / 'nowhere')!r}: expected a folder with model.safetensors "
        "and state.pt (or a ModelCheckpoint folder with a last/ subfolder holding them)."
    )


class Evil:
    """Unpickling it would create the file ``marker`` (standing for arbitrary code)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_loading_never_unpickles_objects(tmp_path, loaders):
    train, val = loaders
    model = make_model()
    Trainer(model, torch.optim.SGD(model.parameters(), 0.5), None, train, val, epochs=1,
            callbacks=[ModelCheckpoint(tmp_path, save_best=False)]).fit()
    state_file = tmp_path / "last" / "state.pt"
    marker = tmp_path / "executed"
    torch.save({"format": 1, "payload": Evil(marker)}, state_file)
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(tmp_path, model)
    assert not marker.exists()
    assert str(exc.value).startswith(
        f"Cannot read {str(state_file)!r}: it is corrupt or holds objects other than tensors and plain values, "
        "which are never unpickled ("
    )


def test_weights_of_another_model_are_refused(tmp_path, loaders):
    train, val = loaders
    model = make_model()
    Trainer(model, torch.optim.SGD(model.parameters(), 0.5), None, train, val, epochs=1,
            callbacks=[ModelCheckpoint(tmp_path, save_best=False)]).fit()
    other = make_model(hidden=7)
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(tmp_path, other)
    assert str(exc.value).startswith(
        f"The weights in {str(tmp_path / 'last' / 'model.safetensors')!r} do not match the model: "
    )


def test_corrupt_weights_are_refused(tmp_path, loaders):
    train, val = loaders
    model = make_model()
    Trainer(model, torch.optim.SGD(model.parameters(), 0.5), None, train, val, epochs=1,
            callbacks=[ModelCheckpoint(tmp_path, save_best=False)]).fit()
    weights = tmp_path / "last" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:40])
    with pytest.raises(CheckpointError) as exc:
        load_checkpoint(tmp_path, model)
    assert str(exc.value).startswith(f"Cannot read {str(weights)!r}: it is not a valid safetensors file (")


def test_callbacks_must_match_on_resume(tmp_path, loaders):
    train, val = loaders
    model = make_model()
    Trainer(model, torch.optim.SGD(model.parameters(), 0.5), None, train, val, epochs=1,
            callbacks=[ModelCheckpoint(tmp_path)]).fit()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), 0.5), None, train, val, epochs=2,
                      callbacks=[EarlyStopping(), ModelCheckpoint(tmp_path)])
    with pytest.raises(CheckpointError) as exc:
        trainer.fit(resume_from=tmp_path)
    assert str(exc.value) == (
        "The checkpoint's stateful callbacks do not match this Trainer's: expected ['EarlyStopping', 'ModelCheckpoint'], "
        "found ['ModelCheckpoint']."
    )


def test_model_checkpoint_monitor_must_be_logged(tmp_path, loaders):
    train, _ = loaders
    model = make_model()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), 0.5), None, train, epochs=1,
                      callbacks=[ModelCheckpoint(tmp_path, monitor="val_acc", mode="max")])
    with pytest.raises(ValueError) as exc:
        trainer.fit()
    assert str(exc.value) == (
        "Invalid value for argument `monitor`. Expected one of the logged metrics 'train_loss', "
        "'train_acc', 'lr', 'grad_norm_mean', 'grad_norm_max', 'seconds'. Received: monitor='val_acc'"
    )


def test_model_checkpoint_arguments(tmp_path):
    with pytest.raises(ValueError) as exc:
        ModelCheckpoint(tmp_path, save_best=False, save_last=False)
    assert str(exc.value) == (
        "Invalid value for argument `save_last`. Expected True when save_best is False (else nothing is saved). "
        "Received: save_last=False"
    )
    with pytest.raises(ValueError) as exc:
        ModelCheckpoint(tmp_path, mode="best")
    assert str(exc.value) == "Invalid value for argument `mode`. Expected one of 'min', 'max'. Received: mode='best'"

"""Progress display: when it shows, and what it draws."""

from __future__ import annotations

import io

import pytest
import torch

from reglab.training import Trainer
from reglab.training.progress import progress_enabled

from training_helpers import make_loaders, make_model


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("progress", "tty", "env", "expected"),
    [
        (None, True, {}, True),
        (None, False, {}, False),
        (False, True, {}, False),
        (True, False, {}, True),
        (None, True, {"REGLAB_PROGRESS": "0"}, False),
        (True, True, {"REGLAB_PROGRESS": "0"}, False),
        (None, True, {"REGLAB_PROGRESS": "1"}, True),
    ],
)
def test_progress_enabled(progress, tty, env, expected):
    assert progress_enabled(progress, Stream(tty), env) is expected


def test_progress_bar_draws_epochs_and_metrics(monkeypatch, capsys):
    monkeypatch.delenv("REGLAB_PROGRESS", raising=False)
    train, val = make_loaders()
    model = make_model()
    history = Trainer(model, torch.optim.SGD(model.parameters(), 0.1), None, train, val, epochs=2, progress=True).fit()
    err = capsys.readouterr().err
    assert "epochs" in err and "2/2" in err
    assert f"val_loss {history.val_loss[-1]:.4f}" in err


def test_quiet_when_disabled(monkeypatch, capsys):
    monkeypatch.setenv("REGLAB_PROGRESS", "0")
    train, val = make_loaders()
    model = make_model()
    Trainer(model, torch.optim.SGD(model.parameters(), 0.1), None, train, val, epochs=1, progress=True).fit()
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""

"""User callbacks reach the Trainer of ``run_one`` and of every run of a study."""

from __future__ import annotations

from pathlib import Path

import pytest

from reglab.errors import ConfigError
from reglab.studies import study as study_mod
from reglab.experiments.config import load_config
from reglab.experiments.execute import run_one
from reglab.experiments.spec import DataSpec, RunSpec
from reglab.training import Callback

DATA = DataSpec(name="mnist1d", train_size=100)
SEEN: list[tuple[str, int, int]] = []


class Record(Callback):
    def __init__(self, label: str) -> None:
        self.label = label

    def on_epoch_end(self, trainer, epoch, logs):
        SEEN.append((self.label, trainer.seed, epoch))


def per_run(spec: RunSpec) -> list[Callback]:
    return [Record(spec.arm)]


def test_run_one_calls_the_user_callbacks_with_the_runs_logs():
    SEEN.clear()
    result = run_one(RunSpec(epochs=2, batch_size=50, seed=3, data=DATA), callbacks=[Record("x")])
    assert SEEN == [("x", 3, 1), ("x", 3, 2)]
    assert result.history["epoch"] == [1, 2]


def test_a_study_gives_every_run_its_own_callbacks(tmp_path):
    SEEN.clear()
    config = load_config("study", overrides={"epochs": 2, "seeds": 1, "train_size": 200, "batch_size": 50,
                                             "workers": 1, "out": str(tmp_path / "out"), "arms": ["baseline", "dropout"]})
    summary = study_mod.run_study(config, report=False, callbacks=per_run)
    assert summary.runner == "processes"
    assert sorted(SEEN) == [("baseline", 0, 1), ("baseline", 0, 2), ("dropout", 0, 1), ("dropout", 0, 2)]


def test_bad_callbacks_are_one_clear_error():
    with pytest.raises(ValueError) as info:
        run_one(RunSpec(epochs=1, batch_size=50, data=DATA), callbacks=[object])
    assert str(info.value) == (
        "Invalid value for argument `callbacks`. Expected None, a sequence of reglab.training.Callback or a "
        "function spec -> such a sequence. Received: callbacks=[<class 'object'>]"
    )

"""Training engine: the Trainer loop, callbacks, early stopping, checkpoints and schedules.

>>> from reglab.training import Trainer, EarlyStopping
>>> trainer = Trainer(model, optimizer, train_loader=train, val_loader=val, epochs=50,
...                   callbacks=[EarlyStopping(patience=5)])                    # doctest: +SKIP
>>> history = trainer.fit()                                                     # doctest: +SKIP
>>> history.stop_reason                                                         # doctest: +SKIP
'Stopped at epoch 14: val_loss did not improve for 5 epochs (best 0.4123 at epoch 9); restored the weights of epoch 9.'
"""

from __future__ import annotations

from reglab.training.callbacks import Callback, LambdaCallback
from reglab.training.checkpoint import ModelCheckpoint, load_checkpoint, save_checkpoint
from reglab.training.early_stopping import EarlyStopping
from reglab.training.history import METRICS, History
from reglab.penalties import Penalty
from reglab.training.hooks import GradientNoise
from reglab.training.schedules import (
    ConstantSchedule,
    LinearSchedule,
    RegularizationSchedule,
    Schedule,
    StepSchedule,
)
from reglab.training.trainer import Trainer

__all__ = [
    "Trainer",
    "History",
    "METRICS",
    "Callback",
    "LambdaCallback",
    "EarlyStopping",
    "ModelCheckpoint",
    "save_checkpoint",
    "load_checkpoint",
    "Penalty",
    "GradientNoise",
    "Schedule",
    "ConstantSchedule",
    "LinearSchedule",
    "StepSchedule",
    "RegularizationSchedule",
]

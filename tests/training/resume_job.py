"""One training configuration for the resume tests: run straight, crash after an epoch, or resume.

Usage: python resume_job.py MODE CHECKPOINT_DIR OUT_FILE [CRASH_EPOCH]
MODE is "straight", "crash" (raises right after the checkpoint of CRASH_EPOCH is written) or
"resume" (continues from CHECKPOINT_DIR in this fresh process). OUT_FILE receives the final
weights and the history (without the timings) via torch.save.
"""

from __future__ import annotations

import sys

import torch

torch.set_num_threads(1)

from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

from reglab.augment import MixupCutmix  # noqa: E402
from reglab.data import TensorLoader  # noqa: E402
from reglab.training import (  # noqa: E402
    EarlyStopping,
    LambdaCallback,
    LinearSchedule,
    ModelCheckpoint,
    Penalty,
    RegularizationSchedule,
    Trainer,
)
from training_helpers import make_data, make_model  # noqa: E402

EPOCHS = 6


class Crash(Exception):
    """Stands for the process dying right after a checkpoint was written."""


def build(checkpoint_dir: str, crash_epoch: int | None) -> Trainer:
    x, y = make_data(160, seed=3)
    train = TensorLoader(x[:120], y[:120], batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(1))
    val = DataLoader(TensorDataset(x[120:], y[120:]), batch_size=20)
    model = make_model(seed=2, dropout=0.2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    callbacks = [EarlyStopping(patience=50), ModelCheckpoint(checkpoint_dir)]
    if crash_epoch is not None:

        def crash(trainer, epoch, logs):
            if epoch == crash_epoch:
                raise Crash

        callbacks.append(LambdaCallback(on_epoch_end=crash, order=200))
    return Trainer(
        model, optimizer, None, train, val, callbacks=callbacks, epochs=EPOCHS, seed=11,
        batch_transform=MixupCutmix(mixup_alpha=0.4, cutmix_alpha=0.0, num_classes=3),
        penalties=[Penalty("l2", 1e-3)], clip_grad_norm=1.0, gradient_noise=0.01, max_norm=3.0,
        schedules=[RegularizationSchedule("dropout", LinearSchedule(0.0, 0.3, epochs=4))],
        lr_scheduler=scheduler,
    )


def main(mode: str, checkpoint_dir: str, out: str, crash_epoch: int | None = None) -> None:
    trainer = build(checkpoint_dir, crash_epoch if mode == "crash" else None)
    try:
        history = trainer.fit(resume_from=checkpoint_dir if mode == "resume" else None)
    except Crash:
        return
    record = history.to_dict()
    record.pop("seconds")
    torch.save({"weights": trainer.model.state_dict(), "history": record}, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else None)

"""Training code of each lab demo: ``prepare(params) -> runner`` and the non-training endpoints.

Each training demo module exposes ``prepare(params)``: it loads the data and builds the model(s)
synchronously (so a bad combination, like more training samples than the dataset holds, is a
400 before anything runs) and returns ``run(job) -> dict`` which trains with reglab's
:class:`~reglab.training.Trainer`, emits events on the job and returns the ``done`` payload.
"""

from __future__ import annotations

from reglab.lab.demos import distillation, early_stopping, mc_dropout, overfit, stochastic_depth, weight_decay

PREPARERS = {
    "overfit": overfit.prepare,
    "weight_decay": weight_decay.prepare,
    "early_stopping": early_stopping.prepare,
    "mc_dropout": mc_dropout.prepare,
    "stochastic_depth": stochastic_depth.prepare,
    "distillation": distillation.prepare,
}

__all__ = ["PREPARERS"]

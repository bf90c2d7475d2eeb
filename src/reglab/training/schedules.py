"""Schedules of regularization strength over epochs (1-based), applied at each epoch's start.

A :class:`Schedule` maps an epoch to a value; a :class:`RegularizationSchedule` says what the
value drives:

- ``"dropout"``: the rate of every dropout-family module (``reglab.retrofit.set_dropout_rate``),
  e.g. a dropout warm-up ``LinearSchedule(0.0, 0.5, epochs=10)`` (curriculum dropout, Morerio et
  al. 2017, arXiv:1703.06229).
- ``"batch_transform"``: 1 applies the Trainer's batch transform (mixup/CutMix), 0 switches it
  off, e.g. ``StepSchedule(1.0, {11: 0.0})`` trains the last epochs on clean data.
- ``"penalty"``: a factor multiplying every penalty term added to the loss.

Schedules are pure functions of the epoch, so a resumed run recomputes them exactly.

:func:`lr_scheduler` builds the learning-rate schedules a study names (``constant``, ``cosine``
with linear warm-up, ``step``, ``onecycle``) from torch's own ``lr_scheduler`` classes, stepped
once per epoch by the Trainer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

from reglab._validate import check_choice, check_int, check_range
from reglab.errors import invalid_argument

__all__ = ["Schedule", "ConstantSchedule", "LinearSchedule", "StepSchedule", "RegularizationSchedule",
           "lr_scheduler", "LR_SCHEDULES"]

#: The learning-rate schedules :func:`lr_scheduler` builds.
LR_SCHEDULES = ("constant", "cosine", "step", "onecycle")

TARGETS = ("dropout", "batch_transform", "penalty")


def _is_real(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and not math.isnan(value)


class Schedule:
    """A value per epoch: ``schedule(epoch) -> float`` with ``epoch >= 1``."""

    def value(self, epoch: int) -> float:
        raise NotImplementedError  # pragma: no cover - abstract

    def __call__(self, epoch: int) -> float:
        return self.value(check_int("epoch", epoch, low=1))


class ConstantSchedule(Schedule):
    """The same value at every epoch."""

    def __init__(self, value: float) -> None:
        self.value_ = check_range("value", value)

    def value(self, epoch: int) -> float:
        return self.value_

    def __repr__(self) -> str:
        return f"ConstantSchedule(value={self.value_})"


class LinearSchedule(Schedule):
    """Linear ramp from ``start`` at epoch 1 to ``end`` at epoch ``epochs``, then ``end``.

    Args:
        start: value at epoch 1.
        end: value from epoch ``epochs`` on.
        epochs: length of the ramp in epochs, an integer >= 1 (1: ``end`` from the start).
    """

    def __init__(self, start: float, end: float, epochs: int) -> None:
        self.start = check_range("start", start)
        self.end = check_range("end", end)
        self.epochs = check_int("epochs", epochs, low=1)

    def value(self, epoch: int) -> float:
        if self.epochs == 1 or epoch >= self.epochs:
            return self.end
        return self.start + (self.end - self.start) * (epoch - 1) / (self.epochs - 1)

    def __repr__(self) -> str:
        return f"LinearSchedule(start={self.start}, end={self.end}, epochs={self.epochs})"


class StepSchedule(Schedule):
    """Piecewise constant: ``initial`` until the first change, then the value of the last change.

    Args:
        initial: value at epoch 1.
        changes: ``{epoch: value}``; from ``epoch`` (an integer >= 2) on the value is ``value``.
    """

    def __init__(self, initial: float, changes: Mapping[int, float]) -> None:
        self.initial = check_range("initial", initial)
        if not isinstance(changes, Mapping):
            raise ValueError(invalid_argument("changes", "a mapping {epoch: value}", changes))
        steps = []
        for epoch, value in changes.items():
            if not isinstance(epoch, Integral) or isinstance(epoch, bool) or epoch < 2:
                raise ValueError(
                    invalid_argument(
                        "changes", "epochs that are integers >= 2", changes, shown=f"changes epoch {epoch!r}"
                    )
                )
            steps.append((int(epoch), check_range(f"changes[{epoch}]", value)))
        self.changes = dict(sorted(steps))

    def value(self, epoch: int) -> float:
        current = self.initial
        for start, value in self.changes.items():
            if epoch >= start:
                current = value
        return current

    def __repr__(self) -> str:
        return f"StepSchedule(initial={self.initial}, changes={self.changes})"


class RegularizationSchedule:
    """Drive one regularization strength from a schedule at the start of every epoch.

    Args:
        target: ``"dropout"`` (rate of every dropout-family module, each value in [0, 1)),
            ``"batch_transform"`` (1 on, 0 off) or ``"penalty"`` (factor >= 0 on every penalty).
        schedule: a :class:`Schedule` (or any callable ``epoch -> float``).
    """

    def __init__(self, target: str, schedule: Schedule) -> None:
        self.target = check_choice("target", target, TARGETS)
        if not callable(schedule):
            raise ValueError(invalid_argument("schedule", "a Schedule (a callable epoch -> value)", schedule))
        self.schedule = schedule

    def value(self, epoch: int) -> float:
        """The checked value for ``epoch``."""
        value = self.schedule(epoch)
        if self.target == "dropout":
            ok, expected = _is_real(value) and 0.0 <= value < 1.0, "a number in [0, 1)"
        elif self.target == "batch_transform":
            ok, expected = _is_real(value) and value in (0, 1), "0 or 1"
        else:
            ok, expected = _is_real(value) and value >= 0.0, "a number in [0, inf)"
        if not ok:
            raise ValueError(
                invalid_argument(
                    "schedule",
                    f"{expected} at every epoch for target {self.target!r}",
                    value,
                    shown=f"schedule({epoch})={value!r}",
                )
            )
        return float(value)

    def __repr__(self) -> str:
        return f"RegularizationSchedule(target={self.target!r}, schedule={self.schedule!r})"


def lr_scheduler(optimizer: Any, schedule: str, epochs: int, *, warmup_epochs: int = 0,
                 step_size: int = 30, gamma: float = 0.1) -> Any:
    """A per-epoch learning-rate scheduler over ``epochs`` epochs, from ``torch.optim.lr_scheduler``.

    * ``"constant"``: None (the optimizer's lr throughout).
    * ``"cosine"``: ``warmup_epochs`` of linear warm-up from ``lr / (warmup_epochs + 1)`` to ``lr``
      (``LinearLR``), then cosine annealing to 0 over the remaining epochs
      (``CosineAnnealingLR``; Loshchilov & Hutter 2017, "SGDR"; warm-up: Goyal et al. 2017).
    * ``"step"``: ``lr * gamma ** (epoch // step_size)`` (``StepLR``).
    * ``"onecycle"``: ``OneCycleLR`` with ``max_lr = lr`` over ``epochs`` steps (Smith & Topin 2019;
      torch's defaults: 30% rising, cosine annealing, ``div_factor`` 25).

    Args:
        optimizer: the ``torch.optim.Optimizer``.
        schedule: one of :data:`LR_SCHEDULES`.
        epochs: training epochs (>= 1).
        warmup_epochs: cosine only; must be below ``epochs``. Defaults to 0.
        step_size: step only, epochs between decays (>= 1). Defaults to 30.
        gamma: step only, the decay factor in (0, 1]. Defaults to 0.1.

    Returns:
        A torch ``LRScheduler`` (the Trainer calls ``step()`` after every epoch) or None.
    """
    check_choice("schedule", schedule, LR_SCHEDULES)
    check_int("epochs", epochs, low=1)
    check_int("warmup_epochs", warmup_epochs, low=0)
    check_int("step_size", step_size, low=1)
    check_range("gamma", gamma, 0.0, 1.0, low_inclusive=False)
    if warmup_epochs and (schedule != "cosine" or warmup_epochs >= epochs):
        expected = (f"an integer below epochs={epochs}" if schedule == "cosine"
                    else "0 (warm-up applies to the cosine schedule)")
        raise ValueError(invalid_argument("warmup_epochs", expected, warmup_epochs))
    from torch.optim import lr_scheduler as S

    if schedule == "constant":
        return None
    if schedule == "step":
        return S.StepLR(optimizer, step_size=step_size, gamma=gamma)
    if schedule == "onecycle":
        lrs = [group["lr"] for group in optimizer.param_groups]
        return S.OneCycleLR(optimizer, max_lr=lrs, total_steps=max(2, epochs))
    if not warmup_epochs:
        return S.CosineAnnealingLR(optimizer, T_max=epochs)
    warm = S.LinearLR(optimizer, start_factor=1.0 / (warmup_epochs + 1), total_iters=warmup_epochs)
    cosine = S.CosineAnnealingLR(optimizer, T_max=epochs - warmup_epochs)
    return S.SequentialLR(optimizer, [warm, cosine], milestones=[warmup_epochs])

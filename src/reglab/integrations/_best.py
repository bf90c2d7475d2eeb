"""The framework-neutral half of restore-best early stopping: reglab's decision rule plus a copy of
the best weights kept on the CPU. The Lightning and Hugging Face adapters only act on it."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from reglab.training.early_stopping import EarlyStopping, _num

__all__ = ["BestWeights"]


class BestWeights:
    """Decide with :meth:`reglab.training.EarlyStopping.evaluate` and keep the best weights.

    ``rule`` is reglab's own ``EarlyStopping`` (one code path: the same counters, baseline,
    ``min_delta`` and reason sentences as reglab's ``Trainer``); this object adds the snapshot (a
    CPU copy of ``state_dict``, taken only when the monitored value improves) and the restore.
    A non-finite value stops at once with its own sentence.
    """

    def __init__(self, rule: EarlyStopping) -> None:
        self.rule = rule
        self.reset()

    def reset(self) -> None:
        self.rule.reset()
        self.weights: dict[str, torch.Tensor] | None = None
        self.reason = ""
        self.restored_epoch: int | None = None

    def step(self, model: nn.Module, value: float, epoch: int) -> tuple[bool, str]:
        """Count ``epoch`` (1-based) with ``value``; snapshot on improvement; return the decision."""
        if not math.isfinite(value):
            should_stop = True
            reason = (
                f"Stopped at epoch {epoch}: {self.rule.monitor} became {_num(value)} (non-finite; "
                f"{self.rule._best_text()})."
            )
        else:
            should_stop, reason = self.rule.evaluate(value, epoch)
            if self.rule.best_epoch == epoch:
                self.weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        if should_stop:
            self.rule.stopped_epoch = epoch
        self.reason = reason
        return should_stop, reason

    def restore(self, model: nn.Module) -> int | None:
        """Load the best weights into ``model``; return their epoch (None: nothing to restore)."""
        if self.weights is None:
            return None
        model.load_state_dict(self.weights)
        self.restored_epoch = self.rule.best_epoch
        return self.restored_epoch

    def state_dict(self) -> dict[str, Any]:
        state = self.rule.state_dict()
        state["best_weights"] = self.weights
        state["reason"] = self.reason
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rule.load_state_dict(state)
        self.weights = state["best_weights"]
        self.reason = state.get("reason", "")

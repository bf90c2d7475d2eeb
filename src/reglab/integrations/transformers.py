"""reglab for the Hugging Face ``transformers.Trainer``.

- :class:`KeepBestCallback`: a ``TrainerCallback`` that keeps the best weights in memory (a CPU
  copy of ``state_dict`` taken when the monitored metric improves: no checkpoint per evaluation,
  the workaround of huggingface/transformers issues 35070 and 10896), stops with reglab's
  early-stopping rule and reason sentence, and restores the best weights in ``on_train_end``
  (stopped early or finished).
- :func:`train_keeping_best`: ``trainer.train()`` that also restores them when training raises
  (any exception, ``KeyboardInterrupt`` included) and re-raises. The Hugging Face ``Trainer`` has
  no callback event for an exception, so a callback alone cannot catch one; this wrapper (or
  :class:`DistillationTrainer`, whose ``train`` does the same) is how to cover that exit.
- :class:`DistillationTrainer`: a ``Trainer`` whose loss is
  :class:`reglab.losses.DistillationLoss` against a frozen teacher (Hinton et al. 2015).

Needs the ``transformers`` extra (transformers, accelerate): ``pip install 'reglab[transformers]'``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from reglab._extras import require

require("transformers", "reglab.integrations.transformers")

from transformers import Trainer, TrainerCallback  # noqa: E402

from reglab.errors import invalid_argument  # noqa: E402
from reglab.integrations._best import BestWeights  # noqa: E402
from reglab.losses import DistillationLoss  # noqa: E402
from reglab.training.early_stopping import EarlyStopping, monitored_value  # noqa: E402

__all__ = ["KeepBestCallback", "train_keeping_best", "DistillationTrainer"]

NEVER = 2**31 - 1


class KeepBestCallback(TrainerCallback):
    """Keep the best weights in memory; stop on patience; restore them when training ends.

    Decides at every evaluation (``on_evaluate``) with reglab's
    :class:`~reglab.training.EarlyStopping` rule; its "epoch" is the 1-based count of
    evaluations (one per epoch with ``eval_strategy="epoch"``). ``patience=None`` never stops
    (keep-best only). A non-finite metric stops at once. Restores in ``on_train_end``; for
    exceptions use :func:`train_keeping_best` (the ``Trainer`` has no exception event).

    Args:
        monitor: a key of the evaluation metrics, with the Trainer's ``eval_`` prefix.
            Defaults to ``"eval_loss"``.
        mode: ``"min"`` or ``"max"``. Defaults to ``"min"``.
        patience: evaluations without improvement before stopping, >= 0, or None (never stop).
            Defaults to None.
        min_delta: an improvement must beat the best by more than this, >= 0. Defaults to 0.0.

    Attributes:
        reason, best_epoch, stopped_epoch, restored_epoch: as on reglab's ``EarlyStopping``
            (epochs count evaluations).
    """

    def __init__(
        self, monitor: str = "eval_loss", mode: str = "min", patience: int | None = None, min_delta: float = 0.0
    ) -> None:
        # patience=None: a wait no run reaches, so only a non-finite metric stops.
        self.best = BestWeights(EarlyStopping(monitor, mode, NEVER if patience is None else patience, min_delta))
        self._evaluations = 0

    reason = property(lambda self: self.best.reason)
    best_epoch = property(lambda self: self.best.rule.best_epoch)
    stopped_epoch = property(lambda self: self.best.rule.stopped_epoch)
    restored_epoch = property(lambda self: self.best.restored_epoch)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.best.reset()
        self._evaluations = 0

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, float] | None = None, **kwargs: Any) -> None:
        model = kwargs.get("model")
        if model is None or metrics is None:
            return
        self._evaluations += 1
        value = monitored_value(self.best.rule.monitor, metrics)
        should_stop, _ = self.best.step(model, value, self._evaluations)
        if should_stop:
            control.should_training_stop = True

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        model = kwargs.get("model")
        if model is not None:
            self.best.restore(model)

    def restore(self, model: nn.Module | None, why: str | None = None) -> int | None:
        """Load the best weights into ``model`` now; return their evaluation count (or None)."""
        if model is None:
            return None
        epoch = self.best.restore(model)
        if epoch is not None and why is not None:
            self.best.reason = f"Interrupted by {why}; restored the weights of epoch {epoch}."
        return epoch


def _keep_best(trainer: Trainer) -> list[KeepBestCallback]:
    return [cb for cb in trainer.callback_handler.callbacks if isinstance(cb, KeepBestCallback)]


def train_keeping_best(trainer: Trainer, *args: Any, **kwargs: Any) -> Any:
    """``trainer.train(*args, **kwargs)``; on any exception restore every :class:`KeepBestCallback`'s
    best weights into ``trainer.model``, then re-raise."""
    try:
        return trainer.train(*args, **kwargs)
    except BaseException as exc:
        for cb in _keep_best(trainer):
            cb.restore(trainer.model, type(exc).__name__)
        raise


class DistillationTrainer(Trainer):
    """A ``transformers.Trainer`` that distils a frozen ``teacher`` into the trained model.

    The loss is :class:`reglab.losses.DistillationLoss` (Hinton, Vinyals, Dean 2015,
    arXiv:1503.02531): ``alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(student,
    labels)``, on the models' ``logits``. The teacher runs in eval mode under ``no_grad`` on the
    same inputs and is moved to the student's device. ``train`` restores the best weights of any
    :class:`KeepBestCallback` on an exception (see :func:`train_keeping_best`).

    Args:
        teacher: a model taking the same inputs (a Hugging Face model returning ``logits``).
        temperature: softening temperature ``T > 0``. Defaults to 4.0.
        alpha: weight in [0, 1] of the soft term. Defaults to 0.9.
        *args, **kwargs: passed to ``transformers.Trainer``.
    """

    def __init__(self, *args: Any, teacher: nn.Module, temperature: float = 4.0, alpha: float = 0.9, **kwargs: Any) -> None:
        if not isinstance(teacher, nn.Module):
            raise ValueError(invalid_argument("teacher", "a torch.nn.Module", teacher))
        self.distillation = DistillationLoss(temperature, alpha)
        super().__init__(*args, **kwargs)
        self.teacher = teacher.to(self.args.device).eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def compute_loss(
        self, model: nn.Module, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        with torch.no_grad():
            teacher_logits = self.teacher(**inputs).logits
        loss = self.distillation(outputs.logits, teacher_logits, labels)
        inputs["labels"] = labels
        return (loss, outputs) if return_outputs else loss

    def train(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().train(*args, **kwargs)
        except BaseException as exc:
            for cb in _keep_best(self):
                cb.restore(self.model, type(exc).__name__)
            raise

"""The callback protocol of :class:`reglab.training.Trainer`.

A callback observes the loop through five hooks and may ask it to stop by setting
``trainer.should_stop = True`` and ``trainer.stop_reason`` (a full sentence) in
:meth:`Callback.on_epoch_end`. Callbacks that decide something separate deciding (a method that
returns ``(should_stop, reason)``) from acting (the hook that sets the trainer's flags), as
Lightning's ``EarlyStopping._evaluate_stopping_criteria`` does.

State: :meth:`Callback.state_dict` returns plain values (and tensors where weights must be kept),
so a checkpoint restores it with ``torch.load(weights_only=True)`` and a resumed run continues
exactly. ``on_fit_start`` resets the state (an instance can be reused for a second ``fit``); on
resume the Trainer loads the saved state *after* ``on_fit_start``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from reglab.training.trainer import Trainer

__all__ = ["Callback", "LambdaCallback"]


class Callback:
    """Base class with no-op hooks; override the ones you need.

    ``order`` sorts the callbacks the Trainer calls (stable, ascending); checkpointing callbacks
    use a high order so they save after every other callback has decided. Defaults to 0.
    """

    order: int = 0

    def on_fit_start(self, trainer: Trainer) -> None:
        """Called once before the first epoch (also on resume, before the state is loaded)."""

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        """Called before the training batches of ``epoch`` (1-based)."""

    def on_batch_end(self, trainer: Trainer, batch: int, logs: dict[str, Any]) -> None:
        """Called after each optimizer step; ``batch`` counts from 0 within the epoch.

        ``logs`` holds tensors (no device sync is forced): ``loss`` (the data loss),
        ``grad_norm`` (total gradient norm before clipping), ``batch_size`` (int) and ``step``
        (global optimizer step, from 1).
        """

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, Any]) -> None:
        """Called after validation; ``logs`` holds the epoch's metrics (see ``History``)."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """Called once however training ends: completed, stopped, diverged or interrupted."""

    def state_dict(self) -> dict[str, Any]:
        """The callback's state as plain values (tensors allowed). Defaults to ``{}``."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""


class LambdaCallback(Callback):
    """A callback built from plain functions, for quick hooks and tests.

    Each argument is called with the same arguments as the hook of the same name.
    Defaults to no-ops.
    """

    def __init__(
        self,
        on_fit_start: Any = None,
        on_epoch_start: Any = None,
        on_batch_end: Any = None,
        on_epoch_end: Any = None,
        on_fit_end: Any = None,
        order: int = 0,
    ) -> None:
        self.order = order
        for name, fn in (
            ("on_fit_start", on_fit_start),
            ("on_epoch_start", on_epoch_start),
            ("on_batch_end", on_batch_end),
            ("on_epoch_end", on_epoch_end),
            ("on_fit_end", on_fit_end),
        ):
            if fn is not None:
                setattr(self, name, fn)

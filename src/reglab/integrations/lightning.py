"""reglab's regularization for PyTorch Lightning (``lightning.pytorch``), as callbacks.

- :class:`RestoreBestEarlyStopping`: reglab's early-stopping rule and reason sentence
  (:meth:`reglab.training.EarlyStopping.evaluate`), with the best weights kept in memory and
  restored however ``fit`` ends: patience exhausted, last epoch, a non-finite metric, an exception,
  or ``KeyboardInterrupt`` (Lightning calls ``on_exception`` before it exits). Lightning's own
  ``EarlyStopping`` restores nothing (Lightning-AI/pytorch-lightning issues 1415, 1395, 578).
- :class:`GradientNormMonitor`: logs the total gradient norm before each optimizer step.
- :class:`MaxNormConstraint`: max-norm on every unit after each step (Srivastava et al. 2014).
- :class:`GradientNoiseCallback`: annealed Gaussian gradient noise (Neelakantan et al. 2015).
- :class:`RegularizationScheduler`: dropout rate, weight decay and drop-path rate per epoch from
  ``reglab.training.schedules`` schedules.
- :class:`BatchTransformMixin`: a ``LightningModule`` mixin applying a batch transform (mixup,
  CutMix: ``reglab.augment.MixupCutmix``) to training batches only.

Needs the ``lightning`` extra: ``pip install 'reglab[lightning]'``. Works with ``lightning.pytorch``
(the ``lightning`` package), not the older standalone ``pytorch_lightning`` namespace.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from reglab._extras import require

require("lightning", "reglab.integrations.lightning")

import lightning.pytorch as pl  # noqa: E402
from lightning.pytorch.utilities import rank_zero_info  # noqa: E402

from reglab._validate import check_int, check_positive  # noqa: E402
from reglab.errors import invalid_argument  # noqa: E402
from reglab.integrations._best import BestWeights  # noqa: E402
from reglab.augment.pipeline import takes_generator  # noqa: E402
from reglab.nn import DropPath  # noqa: E402
from reglab.retrofit import set_dropout_rate  # noqa: E402
from reglab.training.early_stopping import EarlyStopping, monitored_value  # noqa: E402
from reglab.training.hooks import GradientNoise, apply_max_norm_, max_norm_weights  # noqa: E402
from reglab.training.schedules import RegularizationSchedule, Schedule  # noqa: E402

__all__ = [
    "RestoreBestEarlyStopping",
    "GradientNormMonitor",
    "MaxNormConstraint",
    "GradientNoiseCallback",
    "RegularizationScheduler",
    "BatchTransformMixin",
]


class RestoreBestEarlyStopping(pl.Callback):
    """Early stopping that restores the best weights on every exit of ``Trainer.fit``.

    Decides once per training epoch (after that epoch's validation; with
    ``check_val_every_n_epoch > 1`` or ``val_check_interval < 1``, after each validation run, so
    ``patience`` counts validation runs) with reglab's
    :class:`~reglab.training.EarlyStopping` rule: same arguments, defaults and reason sentences
    (Prechelt 1998; Keras/Lightning semantics of ``min_delta``, ``baseline``, ``start_from_epoch``).
    When the monitored value improves, a CPU copy of the module's ``state_dict`` is kept (no
    checkpoint file). The copy is loaded back in ``on_train_end`` (stopped or last epoch) and in
    ``on_exception`` (an exception, or ``KeyboardInterrupt``, after which Lightning exits the
    process with ``sys.exit(1)``). A non-finite monitored value stops training at once.

    Under DDP every rank decides on the same value (the monitored metric is averaged over the
    ranks first), so all ranks stop at the same epoch and restore the same weights. The state,
    best weights included, is saved in Lightning checkpoints (``state_dict``/``load_state_dict``),
    so a checkpoint holds the model's weights twice once a best epoch exists.

    Args:
        monitor: a metric logged with ``self.log`` (``"val_loss"``, ``"val_acc"`` ...).
            Defaults to ``"val_loss"``.
        mode: ``"min"`` or ``"max"``. Defaults to ``"min"``.
        patience: epochs without improvement before stopping, >= 0. Defaults to 10.
        min_delta: an improvement must beat the best by more than this, >= 0. Defaults to 0.0.
        baseline: value the metric must beat for the wait to reset. Defaults to None.
        start_from_epoch: initial epochs that are not monitored, >= 0. Defaults to 0.

    Attributes:
        reason: the last decision's full sentence (the stop reason once stopped).
        best_epoch, stopped_epoch, restored_epoch: 1-based epochs (None when not applicable).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "min",
        patience: int = 10,
        min_delta: float = 0.0,
        baseline: float | None = None,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        self.best = BestWeights(
            EarlyStopping(monitor, mode, patience, min_delta, baseline, start_from_epoch, restore_best=True)
        )

    @property
    def state_key(self) -> str:
        rule = self.best.rule
        return self._generate_state_key(monitor=rule.monitor, mode=rule.mode)

    @property
    def reason(self) -> str:
        return self.best.reason

    @property
    def best_epoch(self) -> int | None:
        return self.best.rule.best_epoch

    @property
    def stopped_epoch(self) -> int | None:
        return self.best.rule.stopped_epoch

    @property
    def restored_epoch(self) -> int | None:
        return self.best.restored_epoch

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.best.reset()  # a reused instance starts afresh; a resumed fit loads its state after this
        # As Lightning's EarlyStopping: decide at the training epoch's end when validation runs once
        # at every epoch's end (or never), else after each validation run, never on stale values.
        self._at_epoch_end = trainer.val_check_interval == 1.0 and trainer.check_val_every_n_epoch == 1

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._at_epoch_end:
            self._decide(trainer, pl_module)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self._at_epoch_end and not trainer.sanity_checking:
            self._decide(trainer, pl_module)

    def _decide(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        logs = {k: float(v) for k, v in trainer.callback_metrics.items()}
        value = monitored_value(self.best.rule.monitor, logs)
        # All ranks decide on the same number (a no-op on one process).
        value = float(trainer.strategy.reduce(torch.tensor(value, device=pl_module.device), reduce_op="mean"))
        should_stop, reason = self.best.step(pl_module, value, trainer.current_epoch + 1)
        if should_stop:
            trainer.should_stop = True
            rank_zero_info(reason)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.best.restore(pl_module)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        epoch = self.best.restore(pl_module)
        if epoch is not None:
            self.best.reason = f"Interrupted by {type(exception).__name__}; restored the weights of epoch {epoch}."

    def state_dict(self) -> dict[str, Any]:
        return self.best.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best.load_state_dict(state_dict)


def _total_norm(params: list[torch.Tensor], norm_type: float) -> torch.Tensor:
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, norm_type)), norm_type)


class GradientNormMonitor(pl.Callback):
    """Log the total gradient norm of every optimizer step (before Lightning's clipping).

    Logged as ``name`` per step and as the epoch mean (``self.log(..., on_step=True,
    on_epoch=True)``), so it reaches every Lightning logger and ``trainer.callback_metrics``.

    Args:
        norm_type: the p of the p-norm, > 0 (``float("inf")`` allowed). Defaults to 2.0.
        name: the logged key. Defaults to ``"grad_norm"``.
    """

    def __init__(self, norm_type: float = 2.0, name: str = "grad_norm") -> None:
        self.norm_type = check_positive("norm_type", norm_type)
        if not isinstance(name, str) or not name:
            raise ValueError(invalid_argument("name", "a non-empty metric name", name))
        self.name = name

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Any) -> None:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        pl_module.log(self.name, _total_norm(params, self.norm_type), on_step=True, on_epoch=True)


class MaxNormConstraint(pl.Callback):
    """After every optimizer step, rescale each unit's incoming weights to L2 norm <= ``max_norm``.

    Srivastava et al. 2014 (JMLR 15): max-norm with c = 2-4, together with dropout. Acts on the
    weights of ``nn.Linear`` and ``nn.Conv1d/2d/3d`` (``reglab.penalties.constrained_weights``),
    through ``reglab.penalties.renorm_units_``.

    Args:
        max_norm: the bound c, > 0. Defaults to 3.0.
    """

    def __init__(self, max_norm: float = 3.0) -> None:
        self.max_norm = check_positive("max_norm", max_norm)
        self._weights: list[torch.Tensor] = []

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._weights = max_norm_weights(pl_module)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        apply_max_norm_(self._weights, self.max_norm)


class GradientNoiseCallback(pl.Callback):
    """Add annealed Gaussian noise ``N(0, eta / (1 + t)^gamma)`` to the gradients of each step.

    Neelakantan et al. 2015 (arXiv:1511.06807), through ``reglab.functional.add_gradient_noise_``
    with the callback's own generator (``seed``), so runs repeat. Lightning calls
    ``on_before_optimizer_step`` before its gradient clipping, so the noise is clipped too
    (reglab's ``Trainer`` adds it after clipping).

    Args:
        eta: noise scale, > 0. Defaults to 0.01.
        gamma: annealing exponent, >= 0. Defaults to 0.55.
        seed: seeds the noise generator, >= 0. Defaults to 0.
    """

    def __init__(self, eta: float = 0.01, gamma: float = 0.55, seed: int = 0) -> None:
        self.noise = GradientNoise(eta, gamma)
        self.seed = check_int("seed", seed, low=0)
        self.generator: torch.Generator | None = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.generator = torch.Generator(device=pl_module.device).manual_seed(self.seed)

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Any) -> None:
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.noise.apply_(params, trainer.global_step, self.generator)


def set_drop_path_rate(model: nn.Module, p: float) -> int:
    """Set the rate of every :class:`reglab.nn.DropPath` in ``model``; return how many changed."""
    count = 0
    for module in model.modules():
        if isinstance(module, DropPath):
            module.p = p
            count += 1
    return count


class RegularizationScheduler(pl.Callback):
    """Drive regularization strengths per epoch (1-based) from ``reglab.training.schedules``.

    At each training epoch's start: ``dropout`` sets the rate of every dropout-family module
    (``reglab.retrofit.set_dropout_rate``; values in [0, 1)), ``drop_path`` the rate of every
    ``reglab.nn.DropPath`` (values in [0, 1)), and ``weight_decay`` multiplies each optimizer
    param group's weight decay as it was when ``fit`` started (a factor >= 0). The values applied
    are logged as ``schedule/<name>``.

    Args:
        dropout: a ``Schedule`` (e.g. ``LinearSchedule(0.0, 0.5, epochs=10)``). Defaults to None.
        weight_decay: a ``Schedule`` of factors. Defaults to None.
        drop_path: a ``Schedule``. Defaults to None.
    """

    def __init__(
        self,
        dropout: Schedule | None = None,
        weight_decay: Schedule | None = None,
        drop_path: Schedule | None = None,
    ) -> None:
        given = {"dropout": dropout, "weight_decay": weight_decay, "drop_path": drop_path}
        if all(s is None for s in given.values()):
            raise ValueError(invalid_argument("dropout", "a Schedule for at least one of dropout, weight_decay, drop_path", None))
        # Same checks as reglab's Trainer: rates in [0, 1), factors >= 0.
        self.schedules = {
            name: RegularizationSchedule("penalty" if name == "weight_decay" else "dropout", s)
            for name, s in given.items()
            if s is not None
        }
        self._base_decay: list[float] = []
        self.values: dict[str, float] = {}

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._base_decay = [float(g.get("weight_decay", 0.0)) for opt in trainer.optimizers for g in opt.param_groups]

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        epoch = trainer.current_epoch + 1
        for name, sched in self.schedules.items():
            value = sched.value(epoch)
            self.values[name] = value
            if name == "dropout":
                set_dropout_rate(pl_module, value)
            elif name == "drop_path":
                set_drop_path_rate(pl_module, value)
            else:
                groups = [g for opt in trainer.optimizers for g in opt.param_groups]
                for group, base in zip(groups, self._base_decay):
                    group["weight_decay"] = base * value

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for name, value in self.values.items():
            pl_module.log(f"schedule/{name}", value)


class BatchTransformMixin:
    """Mix into a ``LightningModule`` to transform training batches after their device transfer.

    Set ``batch_transform`` to a callable ``(x, y) -> (x, y_soft)`` such as
    ``reglab.augment.MixupCutmix``; it is called with ``generator=`` the module's own generator
    (seeded by ``batch_transform_seed``, default 0) when it accepts one. Validation, test and
    prediction batches pass through unchanged. Train with a loss that takes soft targets
    (``F.cross_entropy`` does).

    Example::

        class Model(BatchTransformMixin, pl.LightningModule):
            batch_transform = MixupCutmix(mixup_alpha=0.2, num_classes=10)
    """

    batch_transform: Callable[..., tuple[torch.Tensor, torch.Tensor]] | None = None
    batch_transform_seed: int = 0

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        trainer = getattr(self, "_trainer", None)
        if self.batch_transform is None or trainer is None or not trainer.training:
            return batch
        gen = getattr(self, "_batch_transform_generator", None)
        x, y = batch
        if gen is None or gen.device != x.device:
            gen = torch.Generator(device=x.device).manual_seed(check_int("batch_transform_seed", self.batch_transform_seed, low=0))
            self._batch_transform_generator = gen
        if takes_generator(self.batch_transform):
            return self.batch_transform(x, y, generator=gen)
        return self.batch_transform(x, y)

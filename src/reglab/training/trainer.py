"""The training loop: one ``Trainer`` with regularization hooks, callbacks and checkpoints.

One optimizer step, in order: batch transform (mixup/CutMix, soft targets) -> forward (and the
teachers' forward under ``no_grad`` for distillation) -> loss + penalties -> backward -> total
gradient norm (logged every step, before clipping) -> clipping by norm or value -> gradient noise
-> ``optimizer.step()`` -> max-norm. Per-step metrics stay tensors and are reduced with one
device sync per epoch. Validation runs in eval mode under ``torch.no_grad()``.

How training ends is always one full sentence in ``History.stop_reason``: all epochs completed, a
callback stopped it (early stopping), the loss diverged (NaN/inf: the weights are rolled back to
the last finite epoch) or ``KeyboardInterrupt`` (rolled back to the last completed epoch, then
re-raised). Divergence is detected at the end of the epoch from the per-step losses (no per-step
device sync), naming the first non-finite batch; the diverged epoch is not recorded. Callbacks' ``on_fit_end`` runs on each of these, so ``EarlyStopping`` restores its
best weights on every exit.

Under ``torch.distributed`` (DDP: wrap the model in ``DistributedDataParallel``, shard the data
with ``DistributedSampler``): ``set_epoch(epoch)`` is called on the train loader's sampler at every
epoch's start, and the epoch's train and validation metrics (and the divergence check) are summed
over all ranks before any callback sees them, so every rank makes the same early-stopping decision
and stops at the same epoch with the same weights.

References:
    Pascanu, Mikolov, Bengio. "On the difficulty of training recurrent neural networks".
    ICML 2013 — gradient clipping by norm.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from reglab._validate import check_int, check_positive, is_input_mismatch
from reglab.augment.pipeline import takes_generator
from reglab.errors import CheckpointError, invalid_argument
from reglab.retrofit import set_dropout_rate
from reglab.training.callbacks import Callback
from reglab.training.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from reglab.training.history import History
from reglab.training.hooks import GradientNoise, apply_max_norm_, max_norm_weights
from reglab.training.progress import TrainingProgress, progress_enabled
from reglab.training.schedules import RegularizationSchedule

__all__ = ["Trainer"]


def _has_state(callback: Callback) -> bool:
    return type(callback).state_dict is not Callback.state_dict


def _world_size() -> int:
    """Processes in the default ``torch.distributed`` group (1 when not initialized)."""
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def _set_epoch(loader: Any, epoch: int) -> None:
    """``set_epoch`` on a loader's (batch) sampler, as ``DistributedSampler`` needs to reshuffle."""
    for owner in (getattr(loader, "sampler", None), getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
        set_epoch = getattr(owner, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)
            return


def _step_norms(norms: list[torch.Tensor], counts: list[int], like: torch.Tensor) -> torch.Tensor:
    """The total L2 gradient norm of each step from the flat per-parameter norms."""
    if not norms:
        return like.new_zeros(len(counts))
    flat = torch.stack(norms).float()
    if len(set(counts)) == 1:
        return torch.linalg.vector_norm(flat.view(len(counts), counts[0]), dim=1)
    return torch.stack([torch.linalg.vector_norm(chunk) for chunk in flat.split(counts)])


def _unpack(item: Any, name: str) -> tuple[Any, Any]:
    """``(input, target)`` of one batch; anything else -> one clear message naming the loader."""
    if type(item) in (tuple, list) and len(item) == 2:
        return item[0], item[1]
    what = f"a {type(item).__name__} of {len(item)} items" if isinstance(item, (tuple, list)) else f"a {type(item).__name__}"
    raise ValueError(invalid_argument(name, "(input, target) batches", item, shown=what))


def _raise_bad_batch(name: str, exc: BaseException, x: Any, y: Any, out: Any) -> None:
    """Re-raise the model's or the loss's refusal of a batch (a wrong feature size, labels out of
    range) as one message naming the loader, with PyTorch's own words; any other error (a bug,
    out-of-memory) is re-raised unchanged. ``out`` is None when the model itself refused."""
    if not is_input_mismatch(exc):
        raise exc
    shape = lambda t: tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__  # noqa: E731
    if out is None:
        raise ValueError(invalid_argument(name, "inputs the model accepts", None,
                                          shown=f"a batch of input shape {shape(x)}: {exc}")) from exc
    raise ValueError(invalid_argument(
        name, "targets the loss accepts", None,
        shown=f"a batch of target shape {shape(y)} for output shape {shape(out)}: {exc}")) from exc


class Trainer:
    """Train a model for a number of epochs with regularization hooks and callbacks.

    Args:
        model: the network (moved to ``device``).
        optimizer: a ``torch.optim.Optimizer`` over the model's parameters.
        loss_fn: ``loss_fn(output, target) -> scalar``, or with ``teacher`` set
            ``loss_fn(student_logits, teacher_logits, target)``. Defaults to None:
            ``F.cross_entropy`` (hard labels or soft targets, so mixup works unchanged), or
            ``reglab.losses.DistillationLoss()`` with a teacher.
        train_loader: iterable of ``(input, target)`` batches; its ``len()`` sizes the bar.
        val_loader: validation batches, evaluated after every epoch. Defaults to None.
        callbacks: :class:`Callback` instances, called in ascending ``order``. Defaults to ().
        epochs: number of epochs, >= 1. Defaults to 10.
        device: where the model and batches live. Defaults to ``"cpu"``.
        seed: seeds the global torch RNG (dropout, shuffling without a generator) at the start
            of ``fit`` and the Trainer's own ``generator`` (gradient noise, batch transforms),
            >= 0. Defaults to 0.
        batch_transform: ``(x, y) -> (x, y_soft)`` applied to training batches (mixup, CutMix,
            e.g. ``reglab.augment.MixupCutmix``), or a list of them applied in order
            (``[augmentation, mixing]``, a ``reglab.augment.Pipeline``); called with
            ``generator=`` the Trainer's generator when it accepts one. Defaults to None.
        penalties: callables ``penalty(model) -> scalar tensor`` added to the loss, e.g.
            ``reglab.penalties.Penalty("l1", 1e-4)`` (also exported here). Defaults to ().
        teacher: a model or a list of models (ensemble) for knowledge distillation (Hinton,
            Vinyals, Dean 2015, arXiv:1503.02531); run in eval mode under ``no_grad``.
            Defaults to None.
        clip_grad_norm: rescale gradients whose total L2 norm exceeds this (> 0). Defaults to None.
        clip_grad_value: clamp every gradient element to ``[-v, v]`` (> 0); exclusive with
            ``clip_grad_norm``. Defaults to None.
        gradient_noise: a :class:`GradientNoise` or its ``eta`` (> 0). Defaults to None.
        max_norm: after each step, rescale every unit's incoming weights (rows of Linear/Conv
            weights) to L2 norm <= this (Srivastava et al. 2014). Defaults to None.
        schedules: :class:`RegularizationSchedule` instances applied at each epoch's start.
            Defaults to ().
        progress: draw rich progress bars (None: when stderr is a TTY; ``REGLAB_PROGRESS=0``
            silences them always). Defaults to None.
        lr_scheduler: a ``torch.optim.lr_scheduler`` stepped once per epoch after validation
            (``ReduceLROnPlateau`` gets ``val_loss``, or ``train_loss`` without validation).
            Defaults to None.
        eval_loss_fn: ``eval_loss_fn(output, target)`` for ``evaluate`` and validation.
            Defaults to None: ``loss_fn``, or ``F.cross_entropy`` when ``teacher`` is set (and
            for the reported train loss of a distillation run, so the gap stays comparable).
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        loss_fn: Callable[..., torch.Tensor] | None = None,
        train_loader: Iterable[Any] | None = None,
        val_loader: Iterable[Any] | None = None,
        *,
        callbacks: Sequence[Callback] = (),
        epochs: int = 10,
        device: str | torch.device = "cpu",
        seed: int = 0,
        batch_transform: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
        | list[Callable[..., tuple[torch.Tensor, Any]]] | None = None,
        penalties: Sequence[Callable[[nn.Module], torch.Tensor]] = (),
        teacher: nn.Module | Sequence[nn.Module] | None = None,
        clip_grad_norm: float | None = None,
        clip_grad_value: float | None = None,
        gradient_noise: GradientNoise | float | None = None,
        max_norm: float | None = None,
        schedules: Sequence[RegularizationSchedule] = (),
        progress: bool | None = None,
        lr_scheduler: Any = None,
        eval_loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise ValueError(invalid_argument("model", "a torch.nn.Module", model))
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ValueError(invalid_argument("optimizer", "a torch.optim.Optimizer", optimizer))
        if train_loader is None or not hasattr(train_loader, "__iter__"):
            raise ValueError(invalid_argument("train_loader", "an iterable of (input, target) batches", train_loader))
        if val_loader is not None and not hasattr(val_loader, "__iter__"):
            raise ValueError(invalid_argument("val_loader", "None or an iterable of (input, target) batches", val_loader))
        self.epochs = check_int("epochs", epochs, low=1)
        self.seed = check_int("seed", seed, low=0)
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(invalid_argument("device", "a torch device such as 'cpu' or 'cuda'", device)) from None
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(invalid_argument(
                "device", "a device this machine has (torch.cuda.is_available() is False)", device))
        own = {id(p) for p in model.parameters()}
        theirs = [p for group in optimizer.param_groups for p in group["params"]]
        if own and theirs and not any(id(p) in own for p in theirs):
            raise ValueError(invalid_argument(
                "optimizer", "an optimizer over the model's parameters", optimizer,
                shown=f"an optimizer over {len(theirs)} tensors, none of them the model's"))
        for name, value in (("clip_grad_norm", clip_grad_norm), ("clip_grad_value", clip_grad_value), ("max_norm", max_norm)):
            if value is not None:
                check_positive(name, value)
        if clip_grad_norm is not None and clip_grad_value is not None:
            raise ValueError(
                invalid_argument("clip_grad_value", "None when clip_grad_norm is set (clip by one rule)", clip_grad_value)
            )
        callbacks = tuple(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise ValueError(invalid_argument("callbacks", "reglab.training.Callback instances", cb, shown=f"callbacks item {cb!r}"))
        schedules = tuple(schedules)
        for sched in schedules:
            if not isinstance(sched, RegularizationSchedule):
                raise ValueError(
                    invalid_argument("schedules", "RegularizationSchedule instances", sched, shown=f"schedules item {sched!r}")
                )
        penalties = tuple(penalties)
        for pen in penalties:
            if not callable(pen):
                raise ValueError(invalid_argument("penalties", "callables penalty(model) -> tensor", pen, shown=f"penalties item {pen!r}"))
        if isinstance(batch_transform, (list, tuple)):
            from reglab.augment import Pipeline

            batch_transform = Pipeline(batch_transform)  # applied in order: augmentation, then mixing
        if batch_transform is not None and not callable(batch_transform):
            raise ValueError(invalid_argument("batch_transform", "None, a callable (x, y) -> (x, y) or a list of them", batch_transform))
        if progress is not None and not isinstance(progress, bool):
            raise ValueError(invalid_argument("progress", "None, True or False", progress))
        if teacher is None:
            teachers: list[nn.Module] = []
        elif isinstance(teacher, nn.Module):
            teachers = [teacher]
        else:
            teachers = list(teacher)
            if not teachers or not all(isinstance(t, nn.Module) for t in teachers):
                raise ValueError(invalid_argument("teacher", "None, a torch.nn.Module or a non-empty list of them", teacher))

        self.model = model.to(self.device)
        self.optimizer = optimizer
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.callbacks: list[Callback] = sorted(callbacks, key=lambda cb: cb.order)
        self.batch_transform = batch_transform
        self._transform_takes_generator = takes_generator(batch_transform)
        self.penalties = penalties
        self.teachers = [t.to(self.device).eval() for t in teachers]
        self.teacher_is_list = teacher is not None and not isinstance(teacher, nn.Module)
        if loss_fn is None:
            if self.teachers:
                from reglab.losses import DistillationLoss

                loss_fn = DistillationLoss()
            else:
                loss_fn = F.cross_entropy
        if not callable(loss_fn):
            raise ValueError(invalid_argument("loss_fn", "None or a callable loss", loss_fn))
        self.loss_fn = loss_fn
        if eval_loss_fn is None:
            eval_loss_fn = F.cross_entropy if self.teachers else loss_fn
        self.eval_loss_fn = eval_loss_fn
        self.clip_grad_norm = None if clip_grad_norm is None else float(clip_grad_norm)
        self.clip_grad_value = None if clip_grad_value is None else float(clip_grad_value)
        self.gradient_noise = GradientNoise.coerce(gradient_noise)
        self.max_norm = None if max_norm is None else float(max_norm)
        self.schedules = schedules
        self.progress = progress
        self.lr_scheduler = lr_scheduler
        self.generator = torch.Generator(device=self.device).manual_seed(self.seed)
        self._params = [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]
        self._max_norm_weights = max_norm_weights(self.model) if self.max_norm is not None else []
        self._reset_run_state()

    # -- run state -----------------------------------------------------------------------------
    def _reset_run_state(self) -> None:
        self.history = History()
        self.epoch = 0  # last completed epoch
        self.global_step = 0
        self.should_stop = False
        self.stop_reason = ""
        self.best_epoch: int | None = None
        self.restored_epoch: int | None = None
        self.transform_enabled = self.batch_transform is not None
        self.penalty_scale = 1.0
        self.schedule_values: dict[str, float] = {}

    def request_stop(self, reason: str) -> None:
        """Ask the loop to stop after the current epoch; the first reason given is kept."""
        if not self.should_stop:
            self.should_stop = True
            self.stop_reason = reason

    def metric_names(self) -> list[str]:
        """Metrics of the epoch logs besides ``epoch`` (``val_*`` need a validation loader)."""
        names = ["train_loss", "train_acc"]
        if self.val_loader is not None:
            names += ["val_loss", "val_acc"]
        return names + ["lr", "grad_norm_mean", "grad_norm_max", "seconds"]

    def _generators(self) -> dict[str, torch.Generator]:
        gens = {"trainer": self.generator}
        for name, owner in (("train_loader", self.train_loader), ("batch_transform", self.batch_transform)):
            gen = getattr(owner, "generator", None)
            if isinstance(gen, torch.Generator):
                gens[name] = gen
        return gens

    # -- checkpoints ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The training state besides the model weights, as tensors and plain values."""
        return {
            "epoch": self.epoch,
            "global_step": self.global_step,
            "epochs": self.epochs,
            "seed": self.seed,
            "optimizer": self.optimizer.state_dict(),
            "lr_scheduler": None if self.lr_scheduler is None else self.lr_scheduler.state_dict(),
            "rng": rng_state(self._generators()),
            "callbacks": [
                {"name": type(cb).__name__, "stateful": _has_state(cb), "state": cb.state_dict()} for cb in self.callbacks
            ],
            "history": self.history.to_dict(),
            "should_stop": self.should_stop,
            "stop_reason": self.stop_reason,
        }

    def save_checkpoint(self, path: str | os.PathLike[str]) -> None:
        """Write a resumable checkpoint folder (weights in safetensors + ``state.pt``)."""
        save_checkpoint(path, self.model, self.state())

    def _load(self, path: str | os.PathLike[str]) -> None:
        state = load_checkpoint(path, self.model)
        # Stateless callbacks (loggers, LambdaCallback) may differ between the runs.
        saved = [entry for entry in state["callbacks"] if entry["stateful"]]
        stateful = [cb for cb in self.callbacks if _has_state(cb)]
        names, mine = [entry["name"] for entry in saved], [type(cb).__name__ for cb in stateful]
        if names != mine:
            raise CheckpointError(
                f"The checkpoint's stateful callbacks do not match this Trainer's: expected {mine}, found {names}."
            )
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(f"The checkpoint's optimizer state does not match the optimizer: {exc}") from None
        if (state["lr_scheduler"] is None) != (self.lr_scheduler is None):
            raise CheckpointError(
                "The checkpoint and this Trainer disagree on the LR scheduler: "
                f"checkpoint has {'none' if state['lr_scheduler'] is None else 'one'}, "
                f"Trainer has {'none' if self.lr_scheduler is None else 'one'}."
            )
        if self.lr_scheduler is not None:
            self.lr_scheduler.load_state_dict(state["lr_scheduler"])
        for cb, entry in zip(stateful, saved):
            cb.load_state_dict(entry["state"])
        set_rng_state(state["rng"], self._generators())
        if state["epoch"] > self.epochs:
            raise ValueError(invalid_argument(
                "resume_from", f"a checkpoint of epoch <= epochs={self.epochs}", str(path),
                shown=f"a checkpoint of epoch {state['epoch']}"))
        self.history = History.from_dict(state["history"])
        self.epoch = state["epoch"]
        self.global_step = state["global_step"]
        self.should_stop = state["should_stop"]
        self.stop_reason = state["stop_reason"]

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, resume_from: str | os.PathLike[str] | None = None) -> History:
        """Train for ``epochs`` epochs (or until a callback stops) and return the History.

        Args:
            resume_from: a checkpoint folder (or a ModelCheckpoint folder, whose ``last`` is
                used) written by this configuration; training continues after its epoch.
                Defaults to None (a fresh run from the current weights).

        Raises:
            KeyboardInterrupt: re-raised after rolling back to the last completed epoch and
                running ``on_fit_end`` (``self.history`` holds the record).
            CheckpointError: ``resume_from`` is missing, corrupt or does not match.
        """
        self._reset_run_state()
        torch.manual_seed(self.seed)
        self.generator.manual_seed(self.seed)
        for cb in self.callbacks:
            cb.on_fit_start(self)
        if resume_from is not None:
            self._load(resume_from)
        show = progress_enabled(self.progress)
        bar = TrainingProgress(self.epochs) if show else None
        self._current_epoch = self.epoch
        self._snapshot()
        try:
            if bar is not None:
                bar.__enter__()
            while self.epoch < self.epochs and not self.should_stop:
                self._run_epoch(self.epoch + 1, bar)
            if not self.should_stop:
                self.stop_reason = f"Completed all {self.epochs} epochs."
        except KeyboardInterrupt:
            self._rollback()
            self.stop_reason = f"Interrupted by KeyboardInterrupt during epoch {self._current_epoch}."
            self._finish()
            raise
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
        self._finish()
        return self.history

    def _snapshot(self) -> None:
        self._last_good = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self._last_good_epoch = self.epoch

    def _rollback(self) -> None:
        self.model.load_state_dict(self._last_good)
        self.restored_epoch = self._last_good_epoch

    def _finish(self) -> None:
        for cb in self.callbacks:
            cb.on_fit_end(self)
        reason = self.stop_reason.rstrip(".")
        if self.restored_epoch is not None:
            which = "the initial weights" if self.restored_epoch == 0 else f"the weights of epoch {self.restored_epoch}"
            reason += f"; restored {which}"
        self.stop_reason = reason + "."
        self.history.stop_reason = self.stop_reason
        self.history.stopped_epoch = self._current_epoch
        self.history.best_epoch = self.best_epoch if self.best_epoch is not None else self.history.best_val_epoch()

    def _apply_schedules(self, epoch: int) -> None:
        for sched in self.schedules:
            value = sched.value(epoch)
            self.schedule_values[sched.target] = value
            if sched.target == "dropout":
                set_dropout_rate(self.model, value)
            elif sched.target == "batch_transform":
                self.transform_enabled = self.batch_transform is not None and value == 1.0
            else:
                self.penalty_scale = value

    def _run_epoch(self, epoch: int, bar: TrainingProgress | None) -> None:
        self._current_epoch = epoch
        self._snapshot()
        self._apply_schedules(epoch)
        _set_epoch(self.train_loader, epoch)
        for cb in self.callbacks:
            cb.on_epoch_start(self, epoch)
        lr = float(self.optimizer.param_groups[0]["lr"])
        start = time.perf_counter()
        if bar is not None:
            bar.start_epoch(epoch, len(self.train_loader) if hasattr(self.train_loader, "__len__") else None, self.epoch)
        train = self._train_epoch(bar)
        val = self.evaluate(self.val_loader, all_ranks=True) if self.val_loader is not None else None
        bad = train["bad_batch"]
        if bad is not None or (val is not None and not math.isfinite(val["loss"])):
            self._rollback()
            if bad == 0:
                what = "the training loss became non-finite on another rank"
            elif bad is not None:
                what = f"the training loss became {train['bad_value']} at batch {bad} of {train['batches']}"
            else:
                what = f"the validation loss became {val['loss']}"  # type: ignore[index]
            self.should_stop = True
            self.stop_reason = f"Stopped at epoch {epoch}: {what} (diverged)."
            self.history.diverged_epoch = epoch
            return
        if self.lr_scheduler is not None:
            if isinstance(self.lr_scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                self.lr_scheduler.step(val["loss"] if val is not None else train["loss"])
            else:
                self.lr_scheduler.step()
        logs: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": train["loss"],
            "train_acc": train["acc"],
            "val_loss": None if val is None else val["loss"],
            "val_acc": None if val is None else val["acc"],
            "lr": lr,
            "grad_norm_mean": train["grad_norm_mean"],
            "grad_norm_max": train["grad_norm_max"],
            "seconds": time.perf_counter() - start,
        }
        self.history.append(logs)
        self.epoch = epoch
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, logs)
        if bar is not None:
            bar.end_epoch(logs)

    def _train_epoch(self, bar: TrainingProgress | None) -> dict[str, Any]:
        model, optimizer, device = self.model, self.optimizer, self.device
        params = self._params
        transform = self.batch_transform if self.transform_enabled else None
        teachers = self.teachers
        penalties = self.penalties if self.penalty_scale != 0.0 else ()
        batch_cbs = [cb for cb in self.callbacks if getattr(cb.on_batch_end, "__func__", None) is not Callback.on_batch_end]
        report_fn = self.eval_loss_fn if teachers else None
        losses: list[torch.Tensor] = []
        norms: list[torch.Tensor] = []  # per-parameter gradient norms of every step, flat
        counts: list[int] = []  # how many of them each step has
        sizes: list[int] = []
        preds: list[torch.Tensor] = []
        targets: list[torch.Tensor] = []
        classification: bool | None = None
        model.train()
        for batch, item in enumerate(self.train_loader):
            x, y = _unpack(item, "train_loader")
            if x.device != device:
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if classification is None:
                classification = not torch.is_floating_point(y)
            if transform is not None:
                x, y = transform(x, y, generator=self.generator) if self._transform_takes_generator else transform(x, y)
            out = None
            try:  # zero cost unless a batch does not fit (then one clear message)
                out = model(x)
                if teachers:
                    with torch.no_grad():
                        t_out = [t(x) for t in teachers]
                    loss = self.loss_fn(out, t_out if self.teacher_is_list else t_out[0], y)
                else:
                    loss = self.loss_fn(out, y)
            except (RuntimeError, IndexError, TypeError) as exc:
                _raise_bad_batch("train_loader", exc, x, y, out)
            objective = loss
            if penalties:
                penalty = sum(p(model) for p in penalties)
                objective = loss + (penalty if self.penalty_scale == 1.0 else self.penalty_scale * penalty)
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            if self.clip_grad_norm is not None:
                parts = [torch.nn.utils.clip_grad_norm_(params, self.clip_grad_norm)]
            else:
                # Per-parameter norms only (one fused kernel); the total is taken once per epoch.
                parts = torch._foreach_norm([p.grad for p in params if p.grad is not None])
                if self.clip_grad_value is not None:
                    torch.nn.utils.clip_grad_value_(params, self.clip_grad_value)
            if self.gradient_noise is not None:
                self.gradient_noise.apply_(params, self.global_step, self.generator)
            optimizer.step()
            if self._max_norm_weights:
                apply_max_norm_(self._max_norm_weights, self.max_norm)  # type: ignore[arg-type]
            self.global_step += 1
            if report_fn is not None:
                with torch.no_grad():
                    loss = report_fn(out, y)
            loss = loss.detach()
            losses.append(loss)
            norms.extend(parts)
            counts.append(len(parts))
            sizes.append(x.shape[0])
            if classification:
                preds.append(out.detach().argmax(1))
                targets.append(y.argmax(1) if torch.is_floating_point(y) else y)
            if batch_cbs:
                norm = torch.linalg.vector_norm(torch.stack(parts)) if parts else loss.new_zeros(())
                logs = {"loss": loss, "grad_norm": norm, "batch_size": x.shape[0], "step": self.global_step}
                for cb in batch_cbs:
                    cb.on_batch_end(self, batch, logs)
            if bar is not None:
                bar.advance()
        if not losses:
            raise ValueError(invalid_argument("train_loader", "an iterable yielding at least one batch", self.train_loader))
        # One device sync for the whole epoch.
        loss_t = torch.stack(losses).float()
        weights = torch.tensor(sizes, dtype=torch.float32, device=loss_t.device)
        norm_t = _step_norms(norms, counts, loss_t)
        finite = torch.isfinite(loss_t)
        if classification:
            hits = torch.cat(preds) == torch.cat(targets)
            acc, n_targets = hits.sum().float(), hits.numel()
        else:
            acc, n_targets = loss_t.new_zeros(()), 1
        if _world_size() > 1:
            # DDP: every rank gets the metrics of all ranks' batches before any callback decides.
            dist = torch.distributed
            sums = torch.stack([(loss_t * weights).sum(), weights.sum(), acc, acc.new_tensor(float(n_targets)),
                                norm_t.sum(), norm_t.new_tensor(float(norm_t.numel())), (~finite).sum().float()])
            peak = norm_t.max().clone()
            dist.all_reduce(sums)
            dist.all_reduce(peak, op=dist.ReduceOp.MAX)
            n_targets = int(sums[3].item())
            stats = torch.stack([sums[0] / sums[1], sums[2], sums[4] / sums[5], peak, (sums[6] == 0).float()])
        else:
            stats = torch.stack([(loss_t * weights).sum() / weights.sum(), acc, norm_t.mean(), norm_t.max(), finite.all().float()])
        mean_loss, acc_v, norm_mean, norm_max, all_finite = stats.tolist()
        bad_batch = bad_value = None
        if not all_finite:
            if bool((~finite).any()):
                index = int((~finite).nonzero()[0, 0])
                bad_batch, bad_value = index + 1, float(loss_t[index])
            else:
                bad_batch = 0  # another rank's batch diverged
        return {
            "loss": mean_loss,
            "acc": acc_v / n_targets if classification else None,
            "grad_norm_mean": norm_mean,
            "grad_norm_max": norm_max,
            "batches": len(losses),
            "bad_batch": bad_batch,
            "bad_value": bad_value,
        }

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, loader: Iterable[Any], *, all_ranks: bool = False) -> dict[str, float | None]:
        """Mean loss (``eval_loss_fn``, weighted by batch size) and accuracy on ``loader``.

        Runs in eval mode (dropout off, batch norm on running statistics) under
        ``torch.no_grad()`` and restores the model's previous mode. ``acc`` is None unless the
        targets are class indices.

        Args:
            loader: the batches.
            all_ranks: under ``torch.distributed``, sum the loss and counts over every rank (each
                evaluates its shard; every rank must call). ``fit`` validates this way. Defaults
                to False.
        """
        model, device = self.model, self.device
        was_training = model.training
        model.eval()
        total: torch.Tensor | None = None
        correct: torch.Tensor | None = None
        samples = targets = 0
        classification: bool | None = None
        try:
            with torch.no_grad():
                for item in loader:
                    x, y = _unpack(item, "loader")
                    if x.device != device:
                        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                    if classification is None:
                        classification = not torch.is_floating_point(y)
                    out = None
                    try:
                        out = model(x)
                        n = x.shape[0]
                        loss = self.eval_loss_fn(out, y).float() * n
                    except (RuntimeError, IndexError, TypeError) as exc:
                        _raise_bad_batch("loader", exc, x, y, out)
                    total = loss if total is None else total + loss
                    samples += n
                    if classification:
                        hits = (out.argmax(1) == y).sum()
                        correct = hits if correct is None else correct + hits
                        targets += y.numel()
        finally:
            model.train(was_training)
        if total is None:
            raise ValueError(invalid_argument("loader", "an iterable yielding at least one batch", loader))
        if all_ranks and _world_size() > 1:
            sums = torch.stack([total, total.new_tensor(float(samples)),
                                (correct if correct is not None else total.new_zeros(())).float(),
                                total.new_tensor(float(targets))])
            torch.distributed.all_reduce(sums)
            samples, targets = int(sums[1].item()), int(sums[3].item())
            total, correct = sums[0], (sums[2] if classification else None)
        if classification:
            loss_v, correct_v = torch.stack([total, correct.float()]).tolist()  # type: ignore[union-attr]
            return {"loss": loss_v / samples, "acc": correct_v / targets}
        return {"loss": float(total) / samples, "acc": None}

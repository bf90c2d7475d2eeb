"""The training loop of a stacked ensemble: K members, one batched step, per-member everything.

:func:`fit_stacked` trains the members of a :class:`~reglab.experiments.vectorized.StackedMLP`
the way :class:`reglab.training.Trainer` trains one model, member by member identical in
semantics:

* data order: each member shuffles with its own ``torch.Generator`` (one ``randperm`` per epoch,
  as ``reglab.data.TensorLoader`` does), so member k sees exactly the batches a single run with
  that generator sees;
* dropout: each member draws its masks from its own generator, in layer order;
* loss: per-member mean cross-entropy with the member's label smoothing (Szegedy et al. 2016),
  plus ``l1 * sum|w|`` and ``l2 * sum w^2`` over the member's weights (not biases);
* gradient: each member's gradient is that of its own loss (the members share no parameters, so
  the gradient of the sum is the stack of the members' gradients), written out by
  :meth:`StackedMLP.forward_backward` for ReLU stacks and by autograd otherwise; its total norm
  is recorded before clipping, clipping is per member;
* update: :class:`~reglab.experiments.vectorized.optim.StackedOptimizer` with per-member lr and
  decoupled weight decay; max-norm renormalisation (Srivastava et al. 2014) per member and unit;
* early stopping (Prechelt 1998, "Early Stopping - But When?"): each member has its own
  ``reglab.training.EarlyStopping``; a stopped member is frozen (no update, no metrics) and, with
  ``restore_best``, ends with the weights of its best epoch, while the others continue. A member
  whose loss becomes NaN/inf stops alone, rolled back to its last finite epoch.

It returns one ``History.to_dict()`` per member, with the Trainer's stop sentences.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from reglab._validate import check_int, check_non_negative, check_positive, check_probability
from reglab.errors import invalid_argument
from reglab.experiments.vectorized.allocator import reuse_freed_memory
from reglab.experiments.vectorized.optim import StackedOptimizer
from reglab.experiments.vectorized.stacked_mlp import StackedMLP
from reglab.penalties import renorm_units_

__all__ = ["MemberHyper", "fit_stacked", "evaluate_stacked"]


@dataclass(frozen=True)
class MemberHyper:
    """One member's hyperparameters (the dropout rate lives in the compiled stack).

    Args (checked on construction):
        lr: learning rate, > 0.
        weight_decay: decoupled (AdamW) or coupled (Adam, SGD) decay of the weights, >= 0.
            Defaults to 0.0.
        l1, l2: coefficients of ``sum |w|`` and ``sum w^2`` added to the loss, >= 0. Defaults to 0.0.
        label_smoothing: in [0, 1]. Defaults to 0.0.
        input_noise: std of Gaussian noise added to the inputs, >= 0. Defaults to 0.0.
        mixup_alpha: mixup's Beta(alpha, alpha) concentration (Zhang et al. 2018), >= 0; 0 is
            no mixup. Defaults to 0.0.
        max_norm: per-unit max-norm constraint, > 0, or None. Defaults to None.
        grad_clip: clip each member's total gradient norm to this, > 0, or None. Defaults to None.
        augment: a label-preserving batch transform of the member's flat inputs ``(b, F)`` (a
            ``reglab.augment.RandomShift``), run before mixup with the member's transform
            generator, as the Trainer's ``batch_transform=[augment, mix]``; None for none.
            Defaults to None.
    """

    lr: float
    weight_decay: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    label_smoothing: float = 0.0
    input_noise: float = 0.0
    mixup_alpha: float = 0.0
    max_norm: float | None = None
    grad_clip: float | None = None
    augment: Any = None

    def __post_init__(self) -> None:
        check_positive("lr", self.lr)
        for name in ("weight_decay", "l1", "l2", "input_noise", "mixup_alpha"):
            check_non_negative(name, getattr(self, name))
        check_probability("label_smoothing", self.label_smoothing)
        for name in ("max_norm", "grad_clip"):
            if getattr(self, name) is not None:
                check_positive(name, getattr(self, name))


def _member_ce(logits: torch.Tensor, target: torch.Tensor, smoothing: torch.Tensor | None) -> torch.Tensor:
    """Per-member mean cross-entropy ``(K,)`` of logits ``(K, B, C)`` and targets: class indices
    ``(K, B)`` or soft targets ``(K, B, C)`` (mixup).

    With ``smoothing`` (K,), each member's ``F.cross_entropy(..., label_smoothing=eps_k)``
    (Szegedy et al. 2016): ``(1 - eps) * nll + eps * mean_c(-log p_c)``.
    """
    k, b, c = logits.shape
    soft = target.is_floating_point()  # (K, B, C): reglab.losses' soft-target formula
    if smoothing is None and not soft:
        return F.cross_entropy(logits.reshape(k * b, c), target.reshape(k * b), reduction="none").view(k, b).mean(1)
    logp = torch.log_softmax(logits, dim=-1)
    nll = -(target * logp).sum(-1) if soft else -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)  # (K, B)
    if smoothing is None:
        return nll.mean(1)
    uniform = -logp.mean(dim=-1)  # (K, B)
    eps = smoothing.view(-1, 1)
    return ((1 - eps) * nll + eps * uniform).mean(dim=1)


@torch.no_grad()
def evaluate_stacked(
    stack: StackedMLP, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 4096
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-member ``(loss, acc)`` ``(K,)`` tensors on shared data, eval mode, plain cross-entropy."""
    k = stack.num_members
    loss_sum = torch.zeros(k, dtype=torch.float64, device=x.device)
    correct = torch.zeros(k, dtype=torch.float64, device=x.device)
    n = len(x)
    flat = x.reshape(n, -1)
    for start in range(0, n, batch_size):
        xb, yb = flat[start : start + batch_size], y[start : start + batch_size]
        logits = stack.forward(xb, training=False)  # (K, b, C)
        target = yb.unsqueeze(0).expand(k, -1)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="none")
        loss_sum += loss.view(k, -1).sum(1).double()
        correct += (logits.argmax(-1) == target).sum(1).double()
    return loss_sum / n, correct / n


def _grad_norms(params: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-member total L2 norm of the gradients, ``(K,)`` (``torch.nn.utils.get_total_norm``
    of each member's gradients: the norm of the per-tensor norms)."""
    norms = [torch.linalg.vector_norm(p.grad, dim=tuple(range(1, p.dim()))) for p in params if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(norms), dim=0)


def _column(values: Sequence[float], ref: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=ref.dtype, device=ref.device)


def _reusing_freed_memory(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``fn`` inside :func:`~reglab.experiments.vectorized.allocator.reuse_freed_memory`."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with reuse_freed_memory():
            return fn(*args, **kwargs)

    return wrapper


@dataclass
class _Member:
    """Run state of one member (what ``Trainer`` keeps per run)."""

    history: Any
    stopper: Any
    epochs: int
    active: bool = True
    current_epoch: int = 0
    stop_reason: str = ""
    restored_epoch: int | None = None
    best_epoch: int | None = None


@_reusing_freed_memory
def fit_stacked(
    stack: StackedMLP,
    hypers: Sequence[MemberHyper],
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor | None,
    y_val: torch.Tensor | None,
    *,
    epochs: int | Sequence[int],
    batch_size: int,
    order_generators: Sequence[torch.Generator],
    mask_generators: Sequence[torch.Generator],
    transform_generators: Sequence[torch.Generator] | None = None,
    optimizer: str = "adamw",
    momentum: float = 0.9,
    masks: str = "exact",
    stoppers: Sequence[Any] | None = None,
    on_epoch_end: Callable[[int, list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Train every member of ``stack``; return one ``History.to_dict()`` per member.

    Member k follows ``reglab.training.Trainer`` step for step: shuffle with
    ``order_generators[k]`` (one ``randperm`` per epoch), forward with dropout masks from
    ``mask_generators[k]``, loss (+ penalties), backward, total gradient norm (logged, before
    clipping), clipping by norm, optimizer step, max-norm; then validation, early stopping.

    Args:
        stack: the K members (trained in place; ends with each member's final weights).
        hypers: one :class:`MemberHyper` per member.
        x_train, y_train: shared training data ``(N, ...)`` and int64 labels ``(N,)``.
        x_val, y_val: shared validation data, or None.
        epochs: epochs for every member, or one count per member (a member that reaches its
            count stops with "Completed all N epochs.").
        batch_size: samples per step (the last batch of an epoch may be smaller).
        order_generators: member k's data-order generator.
        mask_generators: member k's dropout and input-noise generator (``Trainer`` seeds the
            global RNG with the run's seed: pass ``torch.Generator().manual_seed(seed)``).
        transform_generators: member k's mixup generator (``Trainer`` draws its batch
            transform's randomness from its own ``torch.Generator().manual_seed(seed)``);
            required when a member uses mixup. Defaults to None.
        optimizer: ``"adamw"``, ``"adam"`` or ``"sgd"``. Defaults to ``"adamw"``.
        momentum: SGD momentum. Defaults to 0.9.
        masks: ``"exact"`` (member k draws its dropout masks exactly as
            ``reglab.functional.dropout`` does with ``mask_generators[k]``) or ``"fast"`` (a
            cheaper draw of the same law; see :meth:`StackedMLP.forward`). Defaults to
            ``"exact"``.
        stoppers: per member a ``reglab.training.EarlyStopping`` (fresh or reset) or None.
            Defaults to None for all.
        on_epoch_end: called with ``(epoch, rows)`` after each epoch (progress display).

    Returns:
        Per member, a dict with the keys of ``History.to_dict()``; ``seconds`` is the shared
        epoch's wall time divided by the members trained in it (the amortized cost per run).

    Training runs inside :func:`~reglab.experiments.vectorized.allocator.reuse_freed_memory`
    (glibc keeps freed blocks, so the batched activations do not page-fault at every step).
    """
    from reglab.training.early_stopping import check_monitor, monitored_value
    from reglab.training.history import History

    k_all = stack.num_members
    named = [("hypers", hypers), ("order_generators", order_generators), ("mask_generators", mask_generators)]
    if transform_generators is not None:
        named.append(("transform_generators", transform_generators))
    elif any(h.mixup_alpha > 0 or h.augment is not None for h in hypers):
        raise ValueError(invalid_argument("transform_generators", "one generator per member when a member uses mixup or augmentation",
                                          None, shown="transform_generators=None"))
    for name, seq in named:
        if len(seq) != k_all:
            raise ValueError(invalid_argument(name, f"one entry per member ({k_all})", len(seq), shown=f"len({name})={len(seq)}"))
    per_epochs = [epochs] * k_all if isinstance(epochs, int) else list(epochs)
    if len(per_epochs) != k_all:
        raise ValueError(invalid_argument("epochs", f"an int or one int per member ({k_all})", epochs))
    for e in per_epochs:
        check_int("epochs", e, low=1)
    check_int("batch_size", batch_size, low=1)
    stoppers = list(stoppers) if stoppers is not None else [None] * k_all
    logged = ["train_loss", "train_acc"] + (["val_loss", "val_acc"] if x_val is not None else [])
    logged += ["lr", "grad_norm_mean", "grad_norm_max", "seconds"]
    for st in stoppers:  # as Trainer's on_fit_start: an unknown monitor fails before training
        if st is not None:
            check_monitor(st.monitor, logged)
    members = [_Member(History(), stoppers[k], per_epochs[k]) for k in range(k_all)]
    for st in stoppers:
        if st is not None:
            st.reset()
    params = stack.parameters()
    decayed = stack.decayed()
    weights = [p for p, d in zip(params, decayed) if d]
    ref = params[0]
    device = ref.device
    opt = StackedOptimizer(
        params,
        decayed,
        name=optimizer,
        lr=[h.lr for h in hypers],
        weight_decay=[h.weight_decay for h in hypers],
        momentum=momentum,
    )
    smoothing = (
        _column([h.label_smoothing for h in hypers], ref) if any(h.label_smoothing > 0 for h in hypers) else None
    )
    l1 = _column([h.l1 for h in hypers], ref) if any(h.l1 > 0 for h in hypers) else None
    l2 = _column([h.l2 for h in hypers], ref) if any(h.l2 > 0 for h in hypers) else None
    noise = [h.input_noise for h in hypers]
    num_classes = stack.weights[-1].shape[2]
    # Trainer's batch transform for a mixup run: MixupCutmix(mixup_alpha, cutmix_alpha=0) drawing
    # from the run's generator before the forward (reglab.experiments.execute)
    mixers = [_mixup_transform(h.mixup_alpha, num_classes) if h.mixup_alpha > 0 else None for h in hypers]
    clip = [h.grad_clip for h in hypers]
    max_norm = [h.max_norm for h in hypers]
    clip_limit = _column([c if c is not None else math.inf for c in clip], ref)
    n = len(x_train)
    x_flat = x_train.reshape(n, -1)
    any_clip = any(c is not None for c in clip)
    any_max_norm = any(c is not None for c in max_norm)
    # Gather an epoch's batches at once when the K shuffled copies are small (<= 64 MiB).
    gather_epoch = k_all * x_flat.numel() * x_flat.element_size() <= 64 * 2**20
    # The hand-written forward/backward (StackedMLP.forward_backward) for ReLU stacks; autograd
    # for the other activations.
    manual = stack.supports_manual_backward()
    best = stack.snapshot() if any(st is not None and st.restore_best for st in stoppers) else None
    last_good = stack.snapshot()

    def active_list() -> list[bool]:
        return [m.active for m in members]

    def stop(k: int, reason: str) -> None:
        members[k].active = False
        members[k].stop_reason = reason
        opt.reset_member(k)  # a frozen member must not move (even with non-finite moments)

    for epoch in range(1, max(per_epochs) + 1):
        for k, m in enumerate(members):
            if m.active and epoch > m.epochs:
                stop(k, f"Completed all {m.epochs} epochs.")
        active = active_list()
        if not any(active):
            break
        for k in range(k_all):
            if active[k]:
                members[k].current_epoch = epoch
        with torch.no_grad():
            for snap, p in zip(last_good, params):
                snap.copy_(p)
        frozen = None if all(active) else torch.tensor([not a for a in active], device=device)
        started = time.perf_counter()
        order = torch.stack(
            [torch.randperm(n, generator=order_generators[k]) if active[k] else torch.arange(n) for k in range(k_all)]
        ).to(device)  # (K, N)
        losses: list[torch.Tensor] = []
        norms: list[torch.Tensor] = []
        sizes: list[int] = []
        predictions: list[torch.Tensor] = []  # (K, b) per step; compared with the labels once per epoch
        labels: list[torch.Tensor] = []
        if gather_epoch:  # one gather per epoch; each step's batch is a view
            xs = x_flat.index_select(0, order.view(-1)).view(k_all, n, -1)  # (K, N, F)
            ys = y_train.take(order)  # (K, N)
        any_noise = any(s > 0 and active[k] for k, s in enumerate(noise))
        any_mix = any(m is not None and active[k] for k, m in enumerate(mixers))
        any_aug = any(h.augment is not None and active[k] for k, h in enumerate(hypers))
        # ReLU stacks train without autograd: one no_grad context per epoch, not per step
        with torch.no_grad() if manual else contextlib.nullcontext():
            for start in range(0, n, batch_size):
                if gather_epoch:
                    xb, yb = xs[:, start : start + batch_size], ys[:, start : start + batch_size]
                else:
                    idx = order[:, start : start + batch_size]  # (K, b)
                    xb = x_flat.index_select(0, idx.reshape(-1)).view(*idx.shape, -1)  # (K, b, F)
                    yb = y_train[idx]  # (K, b)
                target = yb
                if any_aug:  # each member's augmentation, its generator, before its mixup
                    xb = xb.clone()
                    for k, h in enumerate(hypers):
                        if h.augment is not None and active[k]:
                            xb[k] = h.augment(xb[k], yb[k], generator=transform_generators[k])[0]  # type: ignore[index]
                if any_mix:  # soft targets for every member (one-hot rows where not mixed)
                    xb, target = _mix(xb, yb, mixers, active, transform_generators, num_classes)  # type: ignore[arg-type]
                if any_noise:
                    if not any_mix and not any_aug:  # _mix / the augmentation already copied
                        xb = xb.clone()
                    for k, s in enumerate(noise):
                        if s > 0 and active[k]:  # as reglab.functional.gaussian_noise draws it
                            xb[k] = torch.empty_like(xb[k]).normal_(0.0, s, generator=mask_generators[k]).add_(xb[k])
                if manual:
                    logits, data_loss = stack.forward_backward(
                        xb, target, generators=mask_generators, masks=masks, smoothing=smoothing, l1=l1, l2=l2
                    )
                else:
                    logits = stack.forward(xb, training=True, generators=mask_generators, masks=masks)  # (K, b, C)
                    data_loss = _member_ce(logits, target, smoothing)  # (K,)
                    objective = data_loss
                    if l1 is not None:
                        objective = objective + l1 * sum(w.abs().flatten(1).sum(1) for w in weights)
                    if l2 is not None:
                        objective = objective + l2 * sum(w.square().flatten(1).sum(1) for w in weights)
                    opt.zero_grad()
                    objective.sum().backward()  # members share no parameter: each gets its own gradient
                with torch.no_grad():
                    if frozen is not None:
                        for p in params:
                            p.grad.masked_fill_(frozen.view(-1, *([1] * (p.dim() - 1))), 0.0)
                    norm = _grad_norms(params)  # (K,) before clipping
                    if any_clip:
                        coef = (clip_limit / (norm + 1e-6)).clamp(max=1.0)
                        torch._foreach_mul_([p.grad for p in params], [coef.view(-1, *([1] * (p.dim() - 1))) for p in params])
                    opt.step(None if frozen is None else active)
                    if any_max_norm:
                        _renorm_(weights, max_norm, active)
                    losses.append(data_loss.detach())
                    norms.append(norm)
                    sizes.append(xb.shape[1])
                    predictions.append(logits.detach().argmax(-1))
                    if any_mix:  # as Trainer: a soft target's label is its argmax
                        labels.append(target.argmax(-1))
                    elif not gather_epoch:
                        labels.append(yb)
        # One sync for the epoch, reduced as Trainer reduces a run's batches.
        loss_t = torch.stack(losses).float()  # (steps, K)
        size_t = torch.tensor(sizes, dtype=torch.float32, device=device).view(-1, 1)
        norm_t = torch.stack(norms).float()
        train_loss = ((loss_t * size_t).sum(0) / size_t.sum()).tolist()
        correct = torch.eq(
            torch.cat(predictions, dim=1), ys if gather_epoch and not any_mix else torch.cat(labels, dim=1)
        ).sum(1)
        train_acc = (correct.double() / n).tolist()
        norm_mean, norm_max = norm_t.mean(0).tolist(), norm_t.max(0).values.tolist()
        finite = torch.isfinite(loss_t)
        all_finite = finite.all(0).tolist()
        if x_val is not None and y_val is not None:
            vl_t, va_t = evaluate_stacked(stack, x_val, y_val)
            val_loss, val_acc = vl_t.tolist(), va_t.tolist()
        else:
            val_loss = val_acc = None
        seconds = (time.perf_counter() - started) / sum(active)
        rows: list[dict[str, Any]] = []
        restore_last = torch.zeros(k_all, dtype=torch.bool)
        for k, m in enumerate(members):
            if not active[k]:
                continue
            vl = None if val_loss is None else val_loss[k]
            if not all_finite[k] or (vl is not None and not math.isfinite(vl)):
                if not all_finite[k]:
                    bad = int((~finite[:, k]).nonzero()[0, 0])
                    what = (
                        f"the training loss became {float(loss_t[bad, k])} at batch {bad + 1} of {len(losses)}"
                    )
                else:
                    what = f"the validation loss became {vl}"
                restore_last[k] = True
                m.restored_epoch = epoch - 1
                m.history.diverged_epoch = epoch
                stop(k, f"Stopped at epoch {epoch}: {what} (diverged).")
                continue
            row = {
                "epoch": epoch,
                "train_loss": train_loss[k],
                "train_acc": train_acc[k],
                "val_loss": vl,
                "val_acc": None if val_acc is None else val_acc[k],
                "lr": hypers[k].lr,
                "grad_norm_mean": norm_mean[k],
                "grad_norm_max": norm_max[k],
                "seconds": seconds,
            }
            m.history.append(row)
            rows.append(row)
            st = m.stopper
            if st is not None:
                should_stop, reason = st.evaluate(monitored_value(st.monitor, row), epoch)
                if best is not None and st.restore_best and st.best_epoch == epoch:
                    with torch.no_grad():
                        for snap, p in zip(best, params):
                            snap[k] = p[k]
                if should_stop:
                    st.stopped_epoch = epoch
                    stop(k, reason)
        if bool(restore_last.any()):
            stack.restore(last_good, restore_last.to(device))
        if on_epoch_end is not None:
            on_epoch_end(epoch, rows)
    for k, m in enumerate(members):
        if m.active:
            m.active = False
            m.stop_reason = f"Completed all {m.epochs} epochs."
    # on_fit_end: early stopping restores its best weights however the member ended.
    restore_best = torch.zeros(k_all, dtype=torch.bool)
    for k, m in enumerate(members):
        st = m.stopper
        if st is not None and st.best_epoch is not None:
            m.best_epoch = st.best_epoch
            if st.restore_best and best is not None:
                restore_best[k] = True
                m.restored_epoch = st.best_epoch
    if bool(restore_best.any()) and best is not None:
        stack.restore(best, restore_best.to(device))
    return [_finish(m) for m in members]


def _mixup_transform(alpha: float, num_classes: int) -> Any:
    from reglab.augment import MixupCutmix

    return MixupCutmix(mixup_alpha=alpha, cutmix_alpha=0.0, num_classes=num_classes)


def _mix(
    xb: torch.Tensor,
    yb: torch.Tensor,
    mixers: Sequence[Any],
    active: Sequence[bool],
    generators: Sequence[torch.Generator],
    num_classes: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup (Zhang et al. 2018) for the members that use it: each member's batch goes through its
    ``MixupCutmix`` with its own generator, the Trainer's call. Returns ``(inputs, soft targets
    (K, b, C))``, one-hot rows for the members that do not mix."""
    xb = xb.clone()
    soft = F.one_hot(yb, num_classes).to(xb.dtype)
    for k, mixer in enumerate(mixers):
        if mixer is not None and active[k]:
            xb[k], soft[k] = mixer(xb[k], yb[k], generator=generators[k])
    return xb, soft


def _renorm_(weights: Sequence[torch.Tensor], max_norm: Sequence[float | None], active: Sequence[bool]) -> None:
    """Per member and unit, scale incoming weights whose L2 norm exceeds ``c`` back to ``c``.

    The stacked weight is ``(K, in, out)``; a unit's incoming weights are ``w[k, :, j]``, a row of
    the member's ``nn.Linear.weight``: ``reglab.penalties.renorm_units_`` with ``dim=1``, the
    Trainer's constraint.
    """
    for w in weights:
        for k, c in enumerate(max_norm):
            if c is not None and active[k]:
                renorm_units_(w[k], c, dim=1)


def _finish(m: _Member) -> dict[str, Any]:
    """The member's History as ``Trainer._finish`` completes it."""
    reason = m.stop_reason.rstrip(".")
    if m.restored_epoch is not None:
        which = "the initial weights" if m.restored_epoch == 0 else f"the weights of epoch {m.restored_epoch}"
        reason += f"; restored {which}"
    history = m.history
    history.stop_reason = reason + "."
    history.stopped_epoch = m.current_epoch
    history.best_epoch = m.best_epoch if m.best_epoch is not None else history.best_val_epoch()
    return history.to_dict()

"""Optimizers over stacked ``(K, ...)`` parameters with per-member learning rate and weight decay.

Each update is the one ``torch.optim.AdamW`` / ``Adam`` / ``SGD`` applies to a single member, with
the member's own ``lr`` and ``weight_decay``. Adam(W) uses PyTorch's fused kernel (the
``fused=True`` path of ``torch.optim.AdamW``; it agrees with the default implementation to float
rounding, ~1e-7) on the whole stack when members share their hyperparameters and on each
member's slice otherwise; where that kernel is missing, and for SGD, the update is written with
``torch._foreach`` ops and the per-member values broadcast as ``(K, 1, 1)`` columns (the same
operations in the same order as torch's single-tensor implementation). A member whose ``active`` flag is False is
frozen: its step size is zero and its decay factor one, so its weights do not move (early
stopping).

References:
    Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", ICLR (arXiv:1412.6980).
    Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", ICLR (arXiv:1711.05101).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from reglab._validate import check_choice
from reglab.errors import invalid_argument

__all__ = ["StackedOptimizer"]


class StackedOptimizer:
    """AdamW, Adam or SGD over stacked parameters; one lr and weight decay per member.

    Args:
        params: stacked leaf tensors, dim 0 indexes the K members.
        decayed: per parameter, whether weight decay applies (weights yes, biases no: the groups
            of ``reglab.penalties.param_groups``).
        name: ``"adamw"`` (decoupled decay, ``p *= 1 - lr * wd``), ``"adam"`` (decay added to
            the gradient, as ``torch.optim.Adam(weight_decay=...)``) or ``"sgd"`` (momentum,
            decay added to the gradient). Defaults to ``"adamw"``.
        lr: per-member learning rates (K,).
        weight_decay: per-member decay coefficients (K,). Defaults to zeros.
        betas, eps: Adam's constants. Defaults to ``(0.9, 0.999)`` and ``1e-8`` (torch's).
        momentum: SGD momentum, one value for all members. Defaults to 0.9.
    """

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        decayed: Sequence[bool],
        *,
        name: str = "adamw",
        lr: Sequence[float],
        weight_decay: Sequence[float] | None = None,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        momentum: float = 0.9,
    ) -> None:
        self.name = check_choice("name", name, ("adamw", "adam", "sgd"))
        self.params = list(params)
        self.decayed = list(decayed)
        k = self.params[0].shape[0]
        self.lr = [float(v) for v in lr]
        self.weight_decay = [float(v) for v in (weight_decay if weight_decay is not None else [0.0] * k)]
        for name, values in (("lr", self.lr), ("weight_decay", self.weight_decay)):
            if len(values) != k:
                raise ValueError(
                    invalid_argument(name, f"one value per member ({k})", values, shown=f"len({name})={len(values)}")
                )
        self.betas = betas
        self.eps = eps
        self.momentum = momentum
        self.step_count = 0
        self.exp_avg = [torch.zeros_like(p) for p in self.params] if self.name != "sgd" else []
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params] if self.name != "sgd" else []
        self.momentum_buffer: list[torch.Tensor] | None = None
        self._step: torch.Tensor | None = None  # the fused kernels' step count, one reused tensor
        self._decay = [p for p, d in zip(self.params, self.decayed) if d] if any(self.weight_decay) else []

    def _columns(self, values: Sequence[float], params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """``values`` as a (K,) column, viewed to broadcast against each of ``params``."""
        ref = params[0]
        col = torch.tensor(values, dtype=ref.dtype, device=ref.device)
        return [col.view(-1, *([1] * (p.dim() - 1))) for p in params]

    @torch.no_grad()
    def reset_member(self, k: int) -> None:
        """Zero member ``k``'s moments / momentum (called when it stops, so it cannot move again)."""
        for buffers in (self.exp_avg, self.exp_avg_sq, self.momentum_buffer or []):
            for t in buffers:
                t[k].zero_()

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self, active: Sequence[bool] | None = None) -> None:
        """One update of every member; members with ``active[k]`` False do not move."""
        self.step_count += 1
        lr = self.lr if active is None else [v if a else 0.0 for v, a in zip(self.lr, active)]
        if self.name == "sgd":
            self._sgd(lr)
        else:
            self._adam(lr)

    def _adam(self, lr: Sequence[float]) -> None:
        fused = getattr(torch, "_fused_adamw_" if self.name == "adamw" else "_fused_adam_", None)
        if fused is not None and self.params[0].device.type in ("cpu", "cuda"):
            self._adam_fused(fused, lr)
        else:
            self._adam_foreach(lr)

    def _adam_fused(self, fused: Any, lr: Sequence[float]) -> None:
        """PyTorch's fused Adam(W) kernel (the ``fused=True`` path of ``torch.optim.AdamW``), one
        call per group of members sharing ``(lr, weight_decay)``: on the whole stack when all
        members share them (a sweep of dropout rates, seeds...), else on each member's slice.
        Frozen members (``lr = 0``) are left out, so their weights and moments do not change."""
        beta1, beta2 = self.betas
        k_all = self.params[0].shape[0]
        if self._step is None:
            self._step = torch.zeros((), device=self.params[0].device)
        step = self._step.fill_(float(self.step_count))  # read (not updated) by the kernel
        groups: dict[tuple[float, float], list[int]] = {}
        for k, (rate, wd) in enumerate(zip(lr, self.weight_decay)):
            if rate > 0:
                groups.setdefault((rate, wd), []).append(k)
        grads = [p.grad for p in self.params]
        for (rate, wd), members in groups.items():
            slices: list[Any] = [slice(None)] if len(members) == k_all else members
            # without decay, weights and biases take the same update: one call for all of them
            kinds: tuple[bool | None, ...] = (True, False) if wd != 0 else (None,)
            for index in slices:
                for decays in kinds:
                    chosen = [
                        i
                        for i, d in enumerate(self.decayed)
                        if (decays is None or d == decays) and grads[i] is not None
                    ]
                    if not chosen:
                        continue
                    if index == slice(None):  # the whole stack: the tensors themselves
                        tensors = [[seq[i] for i in chosen] for seq in (self.params, grads, self.exp_avg, self.exp_avg_sq)]
                    else:
                        tensors = [
                            [seq[i][index] for i in chosen] for seq in (self.params, grads, self.exp_avg, self.exp_avg_sq)
                        ]
                    fused(
                        *tensors,
                        [],
                        [step] * len(chosen),
                        lr=rate,
                        beta1=beta1,
                        beta2=beta2,
                        weight_decay=wd if decays else 0.0,  # None: wd is 0
                        eps=self.eps,
                        amsgrad=False,
                        maximize=False,
                    )

    def _adam_foreach(self, lr: Sequence[float]) -> None:
        beta1, beta2 = self.betas
        bc1 = 1 - beta1**self.step_count
        bc2_sqrt = (1 - beta2**self.step_count) ** 0.5
        grads = [p.grad for p in self.params]
        if self._decay:
            if self.name == "adamw":  # decoupled: p <- p * (1 - lr * wd), before the moments
                factor = [1 - a * b for a, b in zip(lr, self.weight_decay)]
                torch._foreach_mul_(self._decay, self._columns(factor, self._decay))
            else:  # coupled: g <- g + wd * p
                wd = self._columns(self.weight_decay, self.params)
                grads = [g + p * c if d else g for g, p, c, d in zip(grads, self.params, wd, self.decayed)]
        torch._foreach_lerp_(self.exp_avg, grads, 1 - beta1)
        torch._foreach_mul_(self.exp_avg_sq, beta2)
        torch._foreach_addcmul_(self.exp_avg_sq, grads, grads, 1 - beta2)
        denom = torch._foreach_sqrt(self.exp_avg_sq)
        torch._foreach_div_(denom, bc2_sqrt)
        torch._foreach_add_(denom, self.eps)
        update = torch._foreach_div(self.exp_avg, denom)
        torch._foreach_mul_(update, self._columns([v / bc1 for v in lr], self.params))
        torch._foreach_sub_(self.params, update)

    def _sgd(self, lr: Sequence[float]) -> None:
        grads = [p.grad for p in self.params]
        if self._decay:
            wd = self._columns(self.weight_decay, self.params)
            grads = [g + p * c if d else g for g, p, c, d in zip(grads, self.params, wd, self.decayed)]
        if self.momentum != 0:
            if self.momentum_buffer is None:
                self.momentum_buffer = [g.clone() for g in grads]
            else:
                torch._foreach_mul_(self.momentum_buffer, self.momentum)
                torch._foreach_add_(self.momentum_buffer, grads)
            grads = self.momentum_buffer
        torch._foreach_sub_(self.params, torch._foreach_mul(grads, self._columns(lr, self.params)))

"""Norm penalties added to the loss: L1 (lasso), L2 (ridge / coupled weight decay), elastic net.

- L1: ``sum |w|`` (Tibshirani 1996, "Regression Shrinkage and Selection via the Lasso", JRSS-B 58)
  drives weights to exactly zero.
- L2: ``sum w^2``, the plain sum of squares without a 1/2 (Krogh & Hertz 1992, "A Simple Weight
  Decay Can Improve Generalization", NIPS). With SGD, adding ``c * l2_penalty`` equals weight decay
  ``2c``; with Adam it does not (use decoupled decay: :func:`reglab.penalties.param_groups`).
- Elastic net: ``l1_ratio * L1 + (1 - l1_ratio) * L2`` (Zou & Hastie 2005, "Regularization and
  Variable Selection via the Elastic Net", JRSS-B 67(2); the ``l1_ratio`` parametrisation of
  scikit-learn, without its 1/2 on the L2 term).

Each takes an iterable of tensors (penalised whole, whatever their shape) or an ``nn.Module``, in
which case only its decayable weights are penalised: parameters with at least 2 dimensions that
are not in normalisation layers or embeddings and not named ``bias`` (the rule of
:func:`reglab.penalties.decay_parameters`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor, nn

from reglab._validate import check_choice, check_non_negative, check_probability
from reglab.errors import invalid_argument
from reglab.penalties.groups import decay_parameters
from reglab.registry import Configurable

__all__ = ["l1_penalty", "l2_penalty", "elastic_net_penalty", "Penalty", "collect_tensors"]

ParamsLike = nn.Module | Tensor | Iterable[Tensor]


def collect_tensors(params: Any) -> list[Tensor]:
    """The tensors a penalty applies to: a module's decayable weights, one tensor, or the iterable."""
    if isinstance(params, nn.Module):
        tensors = decay_parameters(params)
        source = f"a {type(params).__name__} with 0 decayable weights"
    elif isinstance(params, Tensor):
        tensors = [params]
        source = "a tensor"
    else:
        try:
            tensors = list(params)
        except TypeError:
            raise ValueError(
                invalid_argument(
                    "params",
                    "an nn.Module or an iterable of tensors",
                    None,
                    shown=f"params of type {type(params).__name__}",
                )
            ) from None
        for t in tensors:
            if not isinstance(t, Tensor):
                raise ValueError(
                    invalid_argument(
                        "params",
                        "an nn.Module or an iterable of tensors",
                        None,
                        shown=f"an iterable containing {type(t).__name__}",
                    )
                )
        source = "an empty iterable"
    if not tensors:
        raise ValueError(invalid_argument("params", "at least one tensor to penalise", None, shown=source))
    for i, t in enumerate(tensors):
        if not (t.is_floating_point() or t.is_complex()):
            raise ValueError(invalid_argument("params", "floating-point tensors", t.dtype,
                                              shown=f"params item {i} of dtype {t.dtype}"))
    return tensors


def l1_penalty(params: ParamsLike) -> Tensor:
    """``sum_i |w_i|`` over all entries of the given tensors (Tibshirani 1996).

    Args:
        params: an iterable of tensors/parameters (all penalised), a single tensor, or an
            ``nn.Module`` (only its decayable weights: dim >= 2, not norms/embeddings/biases).

    Returns:
        A scalar tensor (differentiable).
    """
    tensors = collect_tensors(params)
    return torch.stack([t.abs().sum() for t in tensors]).sum()


def l2_penalty(params: ParamsLike) -> Tensor:
    """``sum_i w_i^2``, the plain sum of squares (no 1/2), over the given tensors.

    Args:
        params: as for :func:`l1_penalty`.

    Returns:
        A scalar tensor (differentiable).
    """
    tensors = collect_tensors(params)
    return torch.stack([t.square().sum() for t in tensors]).sum()


def elastic_net_penalty(params: ParamsLike, l1_ratio: float = 0.5) -> Tensor:
    """``l1_ratio * L1 + (1 - l1_ratio) * L2`` (Zou & Hastie 2005).

    Args:
        params: as for :func:`l1_penalty`.
        l1_ratio: the L1 share in [0, 1]; 1 is the lasso, 0 the ridge penalty. Defaults to 0.5.

    Returns:
        A scalar tensor (differentiable).
    """
    l1_ratio = check_probability("l1_ratio", l1_ratio)
    tensors = collect_tensors(params)
    l1 = torch.stack([t.abs().sum() for t in tensors]).sum()
    l2 = torch.stack([t.square().sum() for t in tensors]).sum()
    return l1_ratio * l1 + (1.0 - l1_ratio) * l2


_KINDS = ("l1", "l2", "elastic_net")


class Penalty(Configurable):
    """A weighted norm penalty to add to the training loss: ``coefficient * penalty(model)``.

    ``Penalty("l1", 1e-5)(model)`` is ``1e-5 * l1_penalty(model)``; a training loop adds each
    configured penalty to the loss of every batch.

    Args:
        kind: ``'l1'``, ``'l2'`` or ``'elastic_net'``. Defaults to ``'l2'``.
        coefficient: the weight ``>= 0`` of the penalty in the loss. Defaults to 1e-4.
        l1_ratio: the L1 share of the elastic net in [0, 1] (ignored otherwise). Defaults to 0.5.
    """

    def __init__(self, kind: str = "l2", coefficient: float = 1e-4, l1_ratio: float = 0.5) -> None:
        self.kind = check_choice("kind", kind, _KINDS)
        self.coefficient = check_non_negative("coefficient", coefficient)
        self.l1_ratio = check_probability("l1_ratio", l1_ratio)

    def __call__(self, params: ParamsLike) -> Tensor:
        if self.kind == "l1":
            value = l1_penalty(params)
        elif self.kind == "l2":
            value = l2_penalty(params)
        else:
            value = elastic_net_penalty(params, self.l1_ratio)
        return self.coefficient * value

    def __repr__(self) -> str:
        extra = f", l1_ratio={self.l1_ratio}" if self.kind == "elastic_net" else ""
        return f"Penalty(kind={self.kind!r}, coefficient={self.coefficient}{extra})"

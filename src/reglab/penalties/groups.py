"""Which parameters weight decay should touch, and AdamW parameter groups that say so.

Decoupled weight decay (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", ICLR,
arXiv:1711.05101) shrinks weights toward zero; shrinking biases, normalisation gains/shifts or
embedding tables brings no regularization and hurts (a LayerNorm gain pulled to 0 switches the
layer off). The usual rule (nanoGPT's ``configure_optimizers``: decay iff ``p.dim() >= 2``; timm's
``param_groups_weight_decay``) is combined here with module-type checks, so 2-D embedding tables
and the weights of norm layers are excluded too:

A trainable parameter is **decayed** iff

- it has at least 2 dimensions (biases, norm gains and other vectors never are), and
- no module owning it is an instance of a type in ``skip`` (by default the normalisation layers
  and embeddings: ``nn.LayerNorm``, ``nn.GroupNorm``, ``nn.RMSNorm``, ``nn.BatchNorm1d/2d/3d``,
  ``nn.SyncBatchNorm``, ``nn.InstanceNorm1d/2d/3d``, ``nn.LocalResponseNorm``, ``nn.Embedding``,
  ``nn.EmbeddingBag``), and
- neither its attribute name (``"bias"``) nor its dotted name (``"pos_embed"``,
  ``"blocks.0.attn.bias"``) is a string in ``skip``, nor a name listed by the model's own
  ``no_weight_decay()`` method (the timm convention, e.g. positional embeddings and class tokens).

A parameter shared by several modules (tied weights) is decayed only if every owner allows it, and
appears once. Frozen parameters (``requires_grad=False``) are left out of both groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torch import nn

from reglab._validate import check_non_negative
from reglab.errors import invalid_argument

__all__ = ["DEFAULT_SKIP", "decay_parameters", "no_decay_parameters", "param_groups"]

_NORMS: tuple[type[nn.Module], ...] = (
    nn.LayerNorm,
    nn.GroupNorm,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
    nn.LocalResponseNorm,
) + ((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ())

DEFAULT_SKIP: tuple[str | type[nn.Module], ...] = ("bias", *_NORMS, nn.Embedding, nn.EmbeddingBag)
"""Excluded from weight decay by default: parameters named ``bias``, norm layers, embeddings."""


def _check_model(model: Any) -> nn.Module:
    if not isinstance(model, nn.Module):
        raise ValueError(
            invalid_argument("model", "an nn.Module", model, shown=f"model of type {type(model).__name__}")
        )
    return model


def _check_skip(skip: Iterable[str | type[nn.Module]]) -> tuple[set[str], tuple[type[nn.Module], ...]]:
    if isinstance(skip, (str, type)):
        skip = (skip,)
    names: set[str] = set()
    types: list[type[nn.Module]] = []
    for entry in skip:
        if isinstance(entry, str):
            names.add(entry)
        elif isinstance(entry, type) and issubclass(entry, nn.Module):
            types.append(entry)
        else:
            raise ValueError(
                invalid_argument(
                    "skip",
                    "parameter names (str) and nn.Module subclasses",
                    None,
                    shown=f"skip containing {entry!r}",
                )
            )
    return names, tuple(types)


def _split(model: nn.Module, skip: Iterable[str | type[nn.Module]]) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """``(decayed, not decayed)`` trainable parameters, in ``model.parameters()`` order."""
    model = _check_model(model)
    names, types = _check_skip(skip)
    custom = getattr(model, "no_weight_decay", None)
    if callable(custom):
        names |= set(custom())
    excluded: set[int] = set()
    for module_name, module in model.named_modules():
        skip_module = isinstance(module, types)
        for leaf, param in module.named_parameters(recurse=False):
            full = f"{module_name}.{leaf}" if module_name else leaf
            if skip_module or param.dim() < 2 or leaf in names or full in names:
                excluded.add(id(param))
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for param in model.parameters():
        if param.requires_grad:
            (no_decay if id(param) in excluded else decay).append(param)
    return decay, no_decay


def decay_parameters(model: nn.Module, skip: Iterable[str | type[nn.Module]] = DEFAULT_SKIP) -> list[nn.Parameter]:
    """The trainable parameters weight decay should shrink (rule in the module docstring).

    Args:
        model: the network.
        skip: parameter names (attribute or dotted) and module types whose parameters are not
            decayed; parameters with fewer than 2 dimensions never are. Defaults to
            :data:`DEFAULT_SKIP` (``"bias"``, norm layers, embeddings).
    """
    return _split(model, skip)[0]


def no_decay_parameters(
    model: nn.Module, skip: Iterable[str | type[nn.Module]] = DEFAULT_SKIP
) -> list[nn.Parameter]:
    """The trainable parameters :func:`decay_parameters` leaves out."""
    return _split(model, skip)[1]


def param_groups(
    model: nn.Module, weight_decay: float, skip: Iterable[str | type[nn.Module]] = DEFAULT_SKIP
) -> list[dict[str, Any]]:
    """Two parameter groups for AdamW: decayed weights, and the rest with ``weight_decay=0``.

    ``torch.optim.AdamW(param_groups(model, 0.05), lr=1e-3)`` applies decoupled weight decay
    (Loshchilov & Hutter 2019, arXiv:1711.05101) to the weights only. Every trainable parameter is
    in exactly one group; the list always has both groups, in this order (one may be empty).

    Args:
        model: the network.
        weight_decay: the decay of the first group, ``>= 0``.
        skip: what not to decay; see :func:`decay_parameters`. Defaults to :data:`DEFAULT_SKIP`.

    Returns:
        ``[{"params": decayed, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]``.

    Raises:
        ValueError: negative ``weight_decay``, ``model`` not a module or without trainable
            parameters, a ``skip`` entry that is neither a string nor a module type.
    """
    weight_decay = check_non_negative("weight_decay", weight_decay)
    decay, no_decay = _split(model, skip)
    if not decay and not no_decay:
        raise ValueError(
            invalid_argument(
                "model",
                "a module with trainable parameters",
                None,
                shown=f"a {type(model).__name__} with 0 trainable parameters",
            )
        )
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]

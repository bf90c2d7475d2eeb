"""Max-norm constraint: cap the norm of each unit's incoming weight vector (Srivastava et al. 2014).

Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov 2014, "Dropout: A Simple Way to Prevent
Neural Networks from Overfitting", JMLR 15: after each update, every hidden unit's incoming weight
vector ``w`` is projected onto the ball ``||w||_2 <= c``; with dropout this allowed large learning
rates and gave their best MNIST result (c between 3 and 4).

Semantics are those of :func:`torch.renorm`: ``dim`` indexes the units, each slice
``weight.select(dim, i)`` is one unit's vector, normed over all remaining dimensions, and a slice
with norm ``> c`` is multiplied by ``c / (norm + 1e-7)``; other slices are left bit-for-bit
unchanged. One difference: the factor is shrunk by ``2 eps`` (``eps`` the dtype's machine epsilon,
a relative 2.4e-7 for float32), so that the norm recomputed after rounding is ``<= c`` too (with
``torch.renorm``, about 1 row in 60 ends a rounding error above ``c`` in float32). ``dim=0`` (the default) is one row of an ``nn.Linear`` weight ``(out, in)`` (its norm
over the inputs, dimension 1) and one output filter of a convolution ``(out, in, k...)``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from reglab._validate import check_int, check_positive
from reglab.errors import invalid_argument
from reglab.registry import Configurable

__all__ = ["max_norm_", "renorm_units_", "MaxNorm", "constrained_weights"]

_EPS = 1e-7  # torch.renorm's


def constrained_weights(module: nn.Module) -> list[Tensor]:
    """The weights a module's max-norm applies to: those of ``nn.Linear`` and ``nn.Conv1d/2d/3d``.

    Transposed convolutions (whose weight is ``(in, out, k...)``) and biases are not included;
    pass such tensors explicitly with the right ``dim``.
    """
    return [m.weight for m in module.modules() if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]


def _weights(module_or_params: Any) -> list[Tensor]:
    if isinstance(module_or_params, nn.Module):
        weights = constrained_weights(module_or_params)
        source = f"a {type(module_or_params).__name__} without nn.Linear or nn.Conv1d/2d/3d layers"
    elif isinstance(module_or_params, Tensor):
        return [module_or_params]
    else:
        try:
            weights = list(module_or_params)
        except TypeError:
            raise ValueError(
                invalid_argument(
                    "module_or_params",
                    "an nn.Module or an iterable of tensors",
                    None,
                    shown=f"module_or_params of type {type(module_or_params).__name__}",
                )
            ) from None
        for w in weights:
            if not isinstance(w, Tensor):
                raise ValueError(
                    invalid_argument(
                        "module_or_params",
                        "an nn.Module or an iterable of tensors",
                        None,
                        shown=f"an iterable containing {type(w).__name__}",
                    )
                )
        source = "an empty iterable"
    if not weights:
        raise ValueError(invalid_argument("module_or_params", "at least one weight to constrain", None, shown=source))
    return weights


@torch.no_grad()
def renorm_units_(weight: Tensor, max_norm: float, dim: int = 0) -> Tensor:
    """The constraint on one weight, in place, unchecked and without a device sync.

    Each slice along ``dim`` (one unit) whose L2 norm exceeds ``max_norm`` is scaled to just
    below it (the ``2 eps`` shrink of the module docstring); the others are left bit for bit.
    The training loops call this after every optimizer step; :func:`max_norm_` adds the checks.

    Args:
        weight: a floating-point tensor with at least 2 dimensions.
        max_norm: the bound ``c > 0``.
        dim: the dimension that indexes units, in ``[0, weight.dim())``. Defaults to 0.

    Returns:
        A boolean tensor, True for each rescaled unit (reading it waits for the device).
    """
    others = [i for i in range(weight.dim()) if i != dim]
    norms = torch.linalg.vector_norm(weight, 2, dim=others, keepdim=True)
    over = norms > max_norm
    shrink = max_norm * (1.0 - 2.0 * torch.finfo(weight.dtype).eps)
    weight.mul_(torch.where(over, shrink / (norms + _EPS), torch.ones_like(norms)))
    return over


@torch.no_grad()
def max_norm_(module_or_params: nn.Module | Tensor | Any, max_norm: float, dim: int = 0) -> int:
    """Renormalise in place every unit whose incoming weight norm exceeds ``max_norm``.

    Args:
        module_or_params: an ``nn.Module`` (the weights of its ``nn.Linear`` and ``nn.Conv1d/2d/3d``
            layers), a tensor, or an iterable of tensors (each with at least 2 dimensions).
        max_norm: the bound ``c > 0`` on each unit's L2 norm.
        dim: the dimension that indexes units (``torch.renorm``'s ``dim``). Defaults to 0: rows of
            a linear weight, output filters of a convolution.

    Returns:
        How many units were rescaled (summed over all weights).

    Raises:
        ValueError: ``max_norm <= 0``, a ``dim`` outside a weight's dimensions, a weight with
            fewer than 2 dimensions, nothing to constrain.
    """
    max_norm = check_positive("max_norm", max_norm)
    weights = _weights(module_or_params)
    dim = check_int("dim", dim)
    clipped = []
    for w in weights:
        if w.dim() < 2 or not w.is_floating_point():
            raise ValueError(
                invalid_argument(
                    "module_or_params",
                    "floating-point weights with at least 2 dimensions",
                    None,
                    shown=f"a {w.dtype} tensor of shape {tuple(w.shape)}",
                )
            )
        if not -w.dim() <= dim < w.dim():
            raise ValueError(
                invalid_argument("dim", f"an integer in [{-w.dim()}, {w.dim() - 1}] for a weight of shape {tuple(w.shape)}", dim)
            )
        clipped.append(renorm_units_(w, max_norm, dim % w.dim()).sum())
    return int(torch.stack(clipped).sum())


class MaxNorm(Configurable):
    """A max-norm constraint to apply after each optimizer step (Srivastava et al. 2014).

    ``constraint = MaxNorm(3.0); ...; optimizer.step(); constraint(model)``.

    Args:
        max_norm: the bound ``c > 0`` on each unit's incoming weight norm. Defaults to 3.0
            (the paper used c between 3 and 4).
        dim: the unit dimension, as in :func:`max_norm_`. Defaults to 0.
    """

    def __init__(self, max_norm: float = 3.0, dim: int = 0) -> None:
        self.max_norm = check_positive("max_norm", max_norm)
        self.dim = check_int("dim", dim)

    def __call__(self, module_or_params: nn.Module | Tensor | Any) -> int:
        """Apply the constraint in place; returns the number of rescaled units."""
        return max_norm_(module_or_params, self.max_norm, self.dim)

    def __repr__(self) -> str:
        return f"MaxNorm(max_norm={self.max_norm}, dim={self.dim})"

"""Regularization hooks the Trainer applies inside its loop: penalties, gradient noise, max-norm.

References:
    Tibshirani. "Regression Shrinkage and Selection via the Lasso". JRSS-B 58(1), 1996 — L1.
    Zou, Hastie. "Regularization and Variable Selection via the Elastic Net". JRSS-B 67(2), 2005.
    Neelakantan et al. "Adding Gradient Noise Improves Learning for Very Deep Networks".
    arXiv:1511.06807, 2015 — annealed gradient noise.
    Srivastava, Hinton, Krizhevsky, Sutskever, Salakhutdinov. "Dropout: A Simple Way to Prevent
    Neural Networks from Overfitting". JMLR 15, 2014 — max-norm constraint on each unit's
    incoming weights.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from reglab._validate import check_choice, check_non_negative, check_positive, check_probability
from reglab.errors import invalid_argument

__all__ = ["Penalty", "GradientNoise", "max_norm_weights", "apply_max_norm_"]

PENALTY_KINDS = ("l1", "l2", "elastic_net")


def _penalized_parameters(model: nn.Module) -> list[torch.Tensor]:
    """The weights a penalty acts on: trainable parameters with ``dim >= 2`` (no biases, no norms)."""
    return [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]


class Penalty:
    """A weight penalty added to the training loss: ``coefficient * penalty(weights)``.

    ``kind="l1"`` is ``sum |w|``, ``"l2"`` is ``sum w^2`` (no 1/2; coupled L2, not decoupled weight
    decay), ``"elastic_net"`` is ``l1_ratio * sum |w| + (1 - l1_ratio) * sum w^2`` (Zou & Hastie
    2005). The weights are ``reglab.penalties.decay_parameters(model)``: biases and normalization
    parameters are not penalized.

    Args:
        kind: ``"l1"``, ``"l2"`` or ``"elastic_net"``.
        coefficient: strength, >= 0.
        l1_ratio: share of the L1 term for ``"elastic_net"``, in [0, 1]. Defaults to 0.5.
    """

    def __init__(self, kind: str, coefficient: float, *, l1_ratio: float = 0.5) -> None:
        self.kind = check_choice("kind", kind, PENALTY_KINDS)
        self.coefficient = check_non_negative("coefficient", coefficient)
        self.l1_ratio = check_probability("l1_ratio", l1_ratio)
        self._cache: tuple[int, list[torch.Tensor]] | None = None

    def parameters(self, model: nn.Module) -> list[torch.Tensor]:
        if self._cache is None or self._cache[0] != id(model):
            self._cache = (id(model), _penalized_parameters(model))
        return self._cache[1]

    def __call__(self, model: nn.Module) -> torch.Tensor:
        params = self.parameters(model)
        if self.kind == "l1":
            value = sum(p.abs().sum() for p in params)
        elif self.kind == "l2":
            value = sum(p.square().sum() for p in params)
        else:
            value = sum(
                self.l1_ratio * p.abs().sum() + (1.0 - self.l1_ratio) * p.square().sum() for p in params
            )
        return self.coefficient * value

    def __repr__(self) -> str:
        extra = f", l1_ratio={self.l1_ratio}" if self.kind == "elastic_net" else ""
        return f"Penalty(kind={self.kind!r}, coefficient={self.coefficient}{extra})"


class GradientNoise:
    """Annealed Gaussian gradient noise, ``sigma_t^2 = eta / (1 + t)^gamma`` (Neelakantan et al.
    2015), added after clipping and before the optimizer step; ``t`` counts optimizer steps from 0.

    Args:
        eta: noise variance at step 0, > 0; the paper tries {0.01, 0.3, 1.0}. Defaults to 0.01.
        gamma: decay exponent, >= 0. Defaults to 0.55 (the paper's value).
    """

    def __init__(self, eta: float = 0.01, gamma: float = 0.55) -> None:
        self.eta = check_positive("eta", eta)
        self.gamma = check_non_negative("gamma", gamma)

    def apply_(self, params: Iterable[torch.Tensor], step: int, generator: torch.Generator | None) -> float:
        """Add the noise of ``step`` to every ``.grad`` in place; returns sigma."""
        from reglab.functional import add_gradient_noise_

        return add_gradient_noise_(params, step, self.eta, self.gamma, generator=generator)

    @classmethod
    def coerce(cls, value: Any) -> GradientNoise | None:
        """``None``, a ``GradientNoise`` or a number (``eta`` with the default ``gamma``)."""
        if value is None or isinstance(value, GradientNoise):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return cls(eta=float(value))
        raise ValueError(
            invalid_argument("gradient_noise", "None, a GradientNoise or a number > 0 (eta)", value)
        )

    def __repr__(self) -> str:
        return f"GradientNoise(eta={self.eta}, gamma={self.gamma})"


_MAX_NORM_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Bilinear)


def max_norm_weights(model: nn.Module) -> list[nn.Module]:
    """The modules whose weights a max-norm constraint acts on: every Linear/Conv layer."""
    return [m for m in model.modules() if isinstance(m, _MAX_NORM_TYPES) and m.weight is not None]


def apply_max_norm_(modules: Iterable[nn.Module], max_norm: float) -> None:
    """Rescale each unit's incoming weights (dim 0 of ``weight``) to L2 norm <= ``max_norm``."""
    with torch.no_grad():
        for module in modules:
            module.weight.renorm_(2, 0, max_norm)

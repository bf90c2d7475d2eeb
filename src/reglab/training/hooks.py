"""Regularization hooks the Trainer applies inside its loop: gradient noise and max-norm.

(Penalties added to the loss are ``reglab.penalties.Penalty`` objects, called with the model.)

References:
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

from reglab._validate import check_non_negative, check_positive
from reglab.errors import invalid_argument
from reglab.penalties import renorm_units_

__all__ = ["GradientNoise", "max_norm_weights", "apply_max_norm_"]


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


def max_norm_weights(model: nn.Module) -> list[torch.Tensor]:
    """The weights a max-norm constraint acts on: ``reglab.penalties.constrained_weights``
    (``nn.Linear`` and ``nn.Conv1d/2d/3d`` weights; units along dim 0)."""
    from reglab.penalties import constrained_weights

    return constrained_weights(model)


def apply_max_norm_(weights: Iterable[torch.Tensor], max_norm: float) -> None:
    """Rescale each unit's incoming weights (dim 0) to L2 norm <= ``max_norm``, in place.

    ``reglab.penalties.renorm_units_`` per weight: the constraint of ``max_norm_`` without its
    count of rescaled units, so the training step never waits for the device.
    """
    for weight in weights:
        renorm_units_(weight, max_norm)

"""Gaussian (multiplicative-noise) dropout.

References:
    Srivastava, Hinton, Krizhevsky, Sutskever, Salakhutdinov. "Dropout: A Simple Way to Prevent
    Neural Networks from Overfitting". JMLR 15, 2014, §10 "Multiplicative Gaussian Noise".
    Wang, Manning. "Fast dropout training". ICML 2013.
"""

from __future__ import annotations

import math

import torch

from reglab.functional._checks import probability

__all__ = ["gaussian_dropout"]


def gaussian_dropout(
    input: torch.Tensor,
    p: float = 0.5,
    *,
    training: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Multiply every element by independent noise ``N(1, p / (1 - p))`` (Srivastava 2014 §10).

    The noise has the mean (1) and variance (``p / (1 - p)``) of inverted Bernoulli dropout with
    drop rate ``p``, so it is a drop-in replacement that needs no rescaling at test time: identity
    in evaluation. ``p = 1`` (infinite variance) is rejected.

    Args:
        input: any floating tensor.
        p: the equivalent drop rate, in [0, 1). Defaults to 0.5.
        training: apply the noise (True) or return the input (False).
        generator: draws the noise. Defaults to None (the global RNG).
    """
    p = probability("p", p, allow_one=False)
    if not training or p == 0.0:
        return input
    noise = torch.empty_like(input).normal_(1.0, math.sqrt(p / (1.0 - p)), generator=generator)
    return input * noise

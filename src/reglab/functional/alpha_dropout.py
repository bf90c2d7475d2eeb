"""Alpha dropout: dropout that keeps the self-normalizing statistics of SELU networks.

Reference:
    Klambauer, Unterthiner, Mayr, Hochreiter. "Self-Normalizing Neural Networks". NeurIPS 2017
    (arXiv:1706.02515), §"New Dropout Technique".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from reglab.functional._checks import probability

__all__ = ["alpha_dropout", "SELU_ALPHA_PRIME"]

#: ``-lambda * alpha`` of SELU: the value SELU saturates to, given to dropped units.
SELU_ALPHA_PRIME = -1.7580993408473766


def alpha_dropout(
    input: torch.Tensor,
    p: float = 0.5,
    *,
    training: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Set dropped units to SELU's saturation value and re-normalize (Klambauer et al. 2017).

    Each element is kept with probability ``1 - p``, dropped ones are set to
    ``alpha' = -lambda * alpha ≈ -1.7581``, then the affine map ``a * x + b`` with
    ``a = ((1 - p) * (1 + p * alpha'^2)) ** -0.5`` and ``b = -a * alpha' * p`` restores zero mean
    and unit variance for standard-normal inputs — the same statistics as
    :func:`torch.nn.functional.alpha_dropout`. Identity in evaluation. ``p = 1`` (``a`` infinite)
    is rejected.

    Args:
        input: any floating tensor (normally SELU activations).
        p: drop probability, in [0, 1). Defaults to 0.5.
        training: apply dropout (True) or return the input (False).
        generator: draws the mask. Defaults to None (the global RNG, through PyTorch's
            ``alpha_dropout``).
    """
    p = probability("p", p, allow_one=False)
    if not training or p == 0.0:
        return input
    if generator is None:
        return F.alpha_dropout(input, p, True)
    a = 1.0 / math.sqrt((1.0 - p) * (1.0 + p * SELU_ALPHA_PRIME**2))
    c = -a * SELU_ALPHA_PRIME  # a * |alpha'|
    keep = torch.empty_like(input).bernoulli_(1.0 - p, generator=generator)
    # kept: a * x + b;  dropped: a * alpha' + b;  with b = c * p:
    # out = keep * (a * x + c) + c * (p - 1)
    return (input * a).add_(c).mul_(keep).add_(c * (p - 1.0))

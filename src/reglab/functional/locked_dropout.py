"""Locked (variational) dropout: one mask per sequence, shared over time steps.

References:
    Gal, Ghahramani. "A Theoretically Grounded Application of Dropout in Recurrent Neural
    Networks". NeurIPS 2016 (arXiv:1512.05287).
    Merity, Keskar, Socher. "Regularizing and Optimizing LSTM Language Models". ICLR 2018
    (arXiv:1708.02182) — AWD-LSTM's ``LockedDropout``.
"""

from __future__ import annotations

import torch

from reglab._validate import check_ndim
from reglab.functional._checks import choice, probability

__all__ = ["locked_dropout"]


def locked_dropout(
    input: torch.Tensor,
    p: float = 0.5,
    batch_first: bool = True,
    *,
    training: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Drop the same features at every time step of a sequence (Gal & Ghahramani 2016).

    One Bernoulli mask of shape ``(batch, features)`` is drawn per call and broadcast over the
    time axis; kept features are scaled by ``1 / (1 - p)`` (inverted dropout). Identity in
    evaluation; ``p = 1`` returns zeros in training.

    Args:
        input: ``(B, T, C)`` when ``batch_first`` else ``(T, B, C)``.
        p: probability of zeroing a feature of a sequence, in [0, 1]. Defaults to 0.5.
        batch_first: layout of ``input``. Defaults to True.
        training: apply dropout (True) or return the input (False).
        generator: draws the mask. Defaults to None (the global RNG).
    """
    p = probability("p", p)
    choice("batch_first", batch_first, (True, False))
    check_ndim("input", input, (3,))
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    if batch_first:
        shape = (input.shape[0], 1, input.shape[2])  # (B, 1, C)
    else:
        shape = (1, input.shape[1], input.shape[2])  # (1, B, C)
    mask = input.new_empty(shape)  # batched under vmap (randomness="different")
    mask.bernoulli_(1.0 - p, generator=generator).div_(1.0 - p)
    return input * mask

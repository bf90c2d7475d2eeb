"""Bernoulli dropout of units and of whole channels.

References:
    Srivastava, Hinton, Krizhevsky, Sutskever, Salakhutdinov. "Dropout: A Simple Way to Prevent
    Neural Networks from Overfitting". JMLR 15, 2014.
    Tompson, Goroshin, Jain, LeCun, Bregler. "Efficient Object Localization Using Convolutional
    Networks". CVPR 2015 (arXiv:1411.4280) — spatial dropout.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reglab._validate import check_ndim
from reglab.functional._checks import choice, floating, probability

__all__ = ["dropout", "spatial_dropout", "DROPOUT_MODES"]

DROPOUT_MODES = ("inverted", "classic")


def dropout(
    input: torch.Tensor,
    p: float = 0.5,
    mode: str = "inverted",
    *,
    training: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Zero each element independently with probability ``p`` (Srivastava et al. 2014).

    Two equivalent-in-expectation conventions:

    * ``"inverted"`` (the default, what :func:`torch.nn.functional.dropout` does): in training the
      kept units are scaled by ``1 / (1 - p)``; in evaluation the input is returned unchanged.
    * ``"classic"`` (the paper's formulation): in training the kept units are not scaled; in
      evaluation the input is multiplied by ``1 - p`` (the "weight scaling" rule, §10).

    ``p = 1`` is well defined in both modes: training returns zeros (every unit is dropped, no
    scaling is attempted), and classic evaluation returns ``input * 0``.

    Args:
        input: any tensor; the output has its shape, dtype and device.
        p: probability of zeroing a unit, in [0, 1]. Defaults to 0.5.
        mode: ``"inverted"`` or ``"classic"``. Defaults to ``"inverted"``.
        training: apply dropout (True) or the evaluation rule (False).
        generator: draws the mask; on the input's device. Defaults to None (the global RNG,
            through PyTorch's fused ``dropout`` kernel in inverted mode).

    Returns:
        A new tensor (the input itself when nothing is to be done: eval in inverted mode, ``p=0``).
    """
    p = probability("p", p)
    mode = choice("mode", mode, DROPOUT_MODES)
    floating("input", input)
    if mode == "inverted":
        if not training or p == 0.0:
            return input
        if generator is None:
            return F.dropout(input, p, True)
        if p == 1.0:
            return input * 0.0
        mask = torch.empty_like(input).bernoulli_(1.0 - p, generator=generator)
        return input * mask.div_(1.0 - p)
    # classic
    if not training:
        return input if p == 0.0 else input * (1.0 - p)
    if p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    return input * torch.empty_like(input).bernoulli_(1.0 - p, generator=generator)


_NATIVE_CHANNEL_DROPOUT = {3: F.dropout1d, 4: F.dropout2d, 5: F.dropout3d}


def spatial_dropout(
    input: torch.Tensor,
    p: float = 0.5,
    *,
    training: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Zero whole channels with probability ``p`` (Tompson et al. 2015), inverted scaling.

    Neighbouring activations of a feature map are strongly correlated, so element-wise dropout
    barely regularizes convolutional layers; dropping a channel everywhere does. One Bernoulli draw
    per (sample, channel), shared over every spatial position; kept channels are scaled by
    ``1 / (1 - p)``. Identity in evaluation. ``p = 1`` returns zeros in training.

    Args:
        input: ``(N, C, L)``, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        p: probability of zeroing a channel, in [0, 1]. Defaults to 0.5.
        training: apply dropout (True) or return the input (False).
        generator: draws the mask. Defaults to None (the global RNG, through PyTorch's fused
            ``dropout1d/2d/3d``).
    """
    p = probability("p", p)
    check_ndim("input", input, (3, 4, 5))
    if not training or p == 0.0:
        return input
    if generator is None:
        return _NATIVE_CHANNEL_DROPOUT[input.dim()](input, p, True)
    if p == 1.0:
        return input * 0.0
    shape = input.shape[:2] + (1,) * (input.dim() - 2)
    mask = input.new_empty(shape)  # batched under vmap (randomness="different")
    mask.bernoulli_(1.0 - p, generator=generator).div_(1.0 - p)
    return input * mask

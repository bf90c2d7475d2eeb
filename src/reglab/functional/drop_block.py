"""DropBlock: drop contiguous square regions of convolutional feature maps.

Reference:
    Ghiasi, Lin, Le. "DropBlock: A regularization method for convolutional networks".
    NeurIPS 2018 (arXiv:1810.12890), Algorithm 1 and Eq. (1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from reglab._validate import check_int, check_ndim
from reglab.errors import invalid_argument
from reglab.functional._checks import choice, probability

__all__ = ["drop_block", "drop_block_gamma"]


def drop_block_gamma(p: float, block_size: int, height: int, width: int) -> float:
    """The seed rate of Eq. (1), for a ``height x width`` feature map.

    ``gamma = p / block_size**2 * (H * W) / ((H - block_size + 1) * (W - block_size + 1))``: seeds
    are drawn only where a whole block fits, and each seed drops ``block_size**2`` units, so the
    expected dropped fraction is ``p`` when blocks do not overlap (overlaps make it a little lower).
    Clipped to 1.

    Raises:
        ValueError: ``height`` or ``width`` below 1, or ``block_size`` outside ``[1, min(H, W)]``
            (no block fits: the rate is undefined).
    """
    p = probability("p", p)
    height = check_int("height", height, low=1)
    width = check_int("width", width, low=1)
    block_size = check_int("block_size", block_size, low=1)
    if block_size > min(height, width):
        raise ValueError(invalid_argument(
            "block_size", f"an integer in [1, {min(height, width)}] (the feature map is {height}x{width})", block_size))
    valid = (height - block_size + 1) * (width - block_size + 1)
    return min(1.0, p / block_size**2 * (height * width) / valid)


def drop_block(
    input: torch.Tensor,
    p: float = 0.1,
    block_size: int = 7,
    per_channel: bool = True,
    *,
    training: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Zero ``block_size x block_size`` squares of a feature map (Ghiasi et al. 2018).

    Seeds are Bernoulli(``gamma``) (see :func:`drop_block_gamma`) on the positions where a whole
    block fits inside the map; every seed zeros the ``block_size x block_size`` square whose
    top-left corner it is. The kept units are scaled by ``mask.numel() / mask.sum()`` (Algorithm 1,
    line 7), so the output's overall scale is preserved. Identity in evaluation; ``p = 1`` returns
    zeros in training.

    Args:
        input: ``(N, C, H, W)`` with ``block_size <= min(H, W)``.
        p: the target fraction of dropped units (``1 - keep_prob`` of the paper), in [0, 1].
            Defaults to 0.1.
        block_size: side of the dropped squares, an integer >= 1 (1 is plain dropout with
            normalised scaling). Defaults to 7 (the paper's best on ImageNet).
        per_channel: one mask per (sample, channel), as the paper recommends; False shares one
            mask per sample across channels. Defaults to True.
        training: apply (True) or return the input (False).
        generator: draws the seeds. Defaults to None (the global RNG).
    """
    p = probability("p", p)
    if type(block_size) is not int or block_size < 1:
        check_int("block_size", block_size, low=1)
    choice("per_channel", per_channel, (True, False))
    check_ndim("input", input, (4,))
    n, c, h, w = input.shape
    if block_size > min(h, w):
        raise ValueError(
            invalid_argument(
                "block_size",
                f"an integer in [1, {min(h, w)}] (the feature map is {h}x{w})",
                block_size,
            )
        )
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    gamma = drop_block_gamma(p, block_size, h, w)
    seeds_shape = (n, c if per_channel else 1, h - block_size + 1, w - block_size + 1)
    seeds = input.new_empty(seeds_shape)  # batched under vmap (randomness="different")
    seeds.bernoulli_(gamma, generator=generator)
    if block_size > 1:
        # Pad by block_size - 1 on every side, then a stride-1 max pool of width block_size turns a
        # seed at (i, j) into the square [i, i + block_size) x [j, j + block_size); output is H x W.
        pad = block_size - 1
        seeds = F.max_pool2d(F.pad(seeds, (pad, pad, pad, pad)), block_size, stride=1)
    mask = seeds.neg_().add_(1.0)  # 1 = keep
    scale = mask.numel() / mask.sum().clamp_min(1.0)
    return input * mask.mul_(scale)

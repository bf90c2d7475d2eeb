"""Cutout (DeVries & Taylor 2017): zero a random square of every image.

DeVries & Taylor 2017, "Improved Regularization of Convolutional Neural Networks with Cutout",
arXiv:1708.04552. Each image gets its own square of side ``size`` whose centre is drawn uniformly
over the pixels, so the square may hang over the border and is clipped (the paper found this
better than keeping it inside). The paper's sizes: 16 on CIFAR-10, 8 on CIFAR-100, 20 on SVHN.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from reglab._validate import check_int, check_ndim
from reglab.augment.base import BatchTransform
from reglab.augment.sampling import generator_device
from reglab.errors import invalid_argument
from reglab.registry import register

__all__ = ["cutout", "cutout_mask", "Cutout"]


def cutout_mask(
    batch_size: int, height: int, width: int, size: int, generator: torch.Generator | None = None
) -> Tensor:
    """Boolean ``(N, 1, H, W)`` mask, True inside each image's clipped square.

    Rows ``cy - size // 2`` to ``cy - size // 2 + size`` (exclusive) and the same for columns, with
    the centre ``(cy, cx)`` uniform over the pixels (drawn with ``generator``: all rows, then all
    columns), clipped to the image.
    """
    device = generator_device(generator)
    cy = torch.randint(height, (batch_size, 1), generator=generator, device=device)
    cx = torch.randint(width, (batch_size, 1), generator=generator, device=device)
    rows = torch.arange(height, device=device)
    cols = torch.arange(width, device=device)
    top, left = cy - size // 2, cx - size // 2
    in_rows = (rows >= top) & (rows < top + size)  # (N, H)
    in_cols = (cols >= left) & (cols < left + size)  # (N, W)
    return (in_rows[:, :, None] & in_cols[:, None, :]).unsqueeze(1)


def cutout(x: Tensor, size: int, generator: torch.Generator | None = None) -> Tensor:
    """Zero one random (clipped) ``size`` x ``size`` square per image (DeVries & Taylor 2017).

    Args:
        x: images ``(N, C, H, W)`` of any dtype; the square is zeroed in every channel. Not modified.
        size: the square's side in pixels, ``>= 0`` (0 returns an unchanged copy).
        generator: the random source of the centres. Defaults to None (PyTorch's global CPU
            generator).

    Returns:
        A new tensor like ``x``.
    """
    size = check_int("size", size, low=0)
    if not isinstance(x, Tensor):
        raise ValueError(invalid_argument("x", "a torch.Tensor", x, shown=f"x of type {type(x).__name__}"))
    check_ndim("x", x, (4,))
    n, _, height, width = x.shape
    mask = cutout_mask(n, height, width, size, generator).to(x.device)
    return x.masked_fill(mask, 0)


@register("cutout")
class Cutout(BatchTransform):
    """Batch transform form of :func:`cutout`: ``Cutout(size)(x, y, generator) -> (x_cut, y)``.

    Labels pass through unchanged.

    Args:
        size: the square's side in pixels, ``>= 0``. Defaults to 16 (the paper's CIFAR-10 value).
    """

    def __init__(self, size: int = 16) -> None:
        self.size = check_int("size", size, low=0)

    def __call__(self, x: Tensor, y: Any, generator: torch.Generator | None = None) -> tuple[Tensor, Any]:
        return cutout(x, self.size, generator), y

"""Labels to soft targets, and the input checks every batch transform shares."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from reglab._validate import check_int, check_ndim, check_probability
from reglab.errors import invalid_argument

__all__ = ["to_soft_targets", "check_batch", "check_num_classes"]


def check_num_classes(num_classes: Any) -> int | None:
    """``None`` or an integer >= 1."""
    return None if num_classes is None else check_int("num_classes", num_classes, low=1)


def check_batch(x: Any, *, image: bool = False) -> None:
    """``x`` is a floating-point tensor with a batch dimension (``(N, C, H, W)`` if ``image``)."""
    if not isinstance(x, Tensor):
        raise ValueError(invalid_argument("x", "a torch.Tensor", x, shown=f"x of type {type(x).__name__}"))
    if image:
        check_ndim("x", x, (4,))
    elif x.dim() == 0:
        raise ValueError(invalid_argument("x", "a tensor of shape (N, ...)", None, shown="x.shape=()"))
    if not x.is_floating_point():
        raise ValueError(invalid_argument("x", "a floating-point tensor", None, shown=f"x.dtype={x.dtype}"))


def to_soft_targets(
    y: Any,
    num_classes: int | None,
    batch_size: int,
    dtype: torch.dtype = torch.float32,
    smoothing: float = 0.0,
) -> Tensor:
    """Class indices or soft targets as a validated ``(N, C)`` distribution, optionally smoothed.

    Args:
        y: class indices ``(N,)`` (an integer tensor; needs ``num_classes``) or soft/one-hot
            targets ``(N, C)`` (a float tensor, kept in its own dtype).
        num_classes: the number of classes ``C``; required for class indices, checked against
            ``y.shape[1]`` for soft targets when given.
        batch_size: ``N``, the batch size of the inputs ``y`` belongs to.
        dtype: the dtype of the one-hot targets built from class indices. Defaults to float32.
        smoothing: label smoothing ``eps`` in [0, 1]: ``(1 - eps) * y + eps / C``
            (Szegedy et al. 2016). Defaults to 0.0.

    Raises:
        ValueError: with the standard message for a wrong shape or dtype, missing
            ``num_classes``, or class indices outside ``[0, num_classes)`` (checking them reads
            the labels' minimum and maximum back from the device).
    """
    num_classes = check_num_classes(num_classes)
    smoothing = check_probability("smoothing", smoothing)
    if not isinstance(y, Tensor):
        raise ValueError(invalid_argument("y", "a torch.Tensor", y, shown=f"y of type {type(y).__name__}"))
    if y.is_floating_point():
        cols = "C" if num_classes is None else str(num_classes)
        shape_ok = y.dim() == 2 and y.shape[0] == batch_size and (num_classes is None or y.shape[1] == num_classes)
        if not shape_ok:
            raise ValueError(
                invalid_argument(
                    "y",
                    f"class indices of shape ({batch_size},) or soft targets of shape ({batch_size}, {cols})",
                    None,
                    shown=f"y.shape={tuple(y.shape)}",
                )
            )
        soft = y
        classes = y.shape[1]
    elif y.dtype == torch.bool or y.is_complex():
        raise ValueError(
            invalid_argument(
                "y", "integer class indices or floating-point soft targets", None, shown=f"y.dtype={y.dtype}"
            )
        )
    else:
        if y.dim() != 1 or y.shape[0] != batch_size:
            cols = "C" if num_classes is None else str(num_classes)
            raise ValueError(
                invalid_argument(
                    "y",
                    f"class indices of shape ({batch_size},) or soft targets of shape ({batch_size}, {cols})",
                    None,
                    shown=f"y.shape={tuple(y.shape)}",
                )
            )
        if num_classes is None:
            raise ValueError(invalid_argument("num_classes", "an integer >= 1 when y holds class indices", None))
        if y.numel() > 0:
            low, high = (int(v) for v in torch.aminmax(y))
            if low < 0 or high >= num_classes:
                raise ValueError(
                    invalid_argument(
                        "y",
                        f"class indices in [0, {num_classes - 1}] (num_classes={num_classes})",
                        None,
                        shown=f"y.min()={low}, y.max()={high}",
                    )
                )
        soft = F.one_hot(y.long(), num_classes).to(dtype)
        classes = num_classes
    if smoothing > 0.0:
        soft = soft * (1.0 - smoothing) + smoothing / classes
    return soft

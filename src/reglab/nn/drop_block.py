"""``DropBlock2d``; the math is in :mod:`reglab.functional.drop_block`."""

from __future__ import annotations

import torch
from torch import nn

from reglab import functional as RF
from reglab._validate import check_choice, check_int, check_probability
from reglab.registry import Configurable, register

__all__ = ["DropBlock2d"]


@register("drop_block")
class DropBlock2d(nn.Module, Configurable):
    """Drop contiguous ``block_size x block_size`` squares of feature maps (Ghiasi et al. 2018).

    NeurIPS 2018, arXiv:1810.12890. See :func:`reglab.functional.drop_block`. Inputs
    ``(N, C, H, W)`` with ``block_size <= min(H, W)`` (checked at each call). The paper ramps
    ``p`` up linearly during training; :func:`reglab.retrofit.set_dropout_rate` with
    ``types=(DropBlock2d,)`` does that from a schedule.

    Args:
        p: target fraction of dropped units, in [0, 1]. Defaults to 0.1.
        block_size: side of the dropped squares, an integer >= 1. Defaults to 7.
        per_channel: one mask per channel (True, the paper's choice) or one per sample shared by
            all channels (False). Defaults to True.
    """

    def __init__(self, p: float = 0.1, block_size: int = 7, per_channel: bool = True) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        self.block_size = check_int("block_size", block_size, low=1)
        self.per_channel = check_choice("per_channel", per_channel, (True, False))

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return RF.drop_block(
            input, self.p, self.block_size, self.per_channel, training=self.training
        )

    def extra_repr(self) -> str:
        return f"p={self.p}, block_size={self.block_size}, per_channel={self.per_channel}"

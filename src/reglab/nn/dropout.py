"""``Dropout`` and ``SpatialDropout`` modules; the math is in :mod:`reglab.functional.dropout`."""

from __future__ import annotations

import torch
from torch import nn

from reglab import functional as RF
from reglab._validate import check_choice, check_probability
from reglab.functional.dropout import DROPOUT_MODES
from reglab.registry import Configurable, register

__all__ = ["Dropout", "SpatialDropout"]


@register("dropout")
class Dropout(nn.Module, Configurable):
    """Element-wise dropout (Srivastava et al. 2014); see :func:`reglab.functional.dropout`.

    Args:
        p: probability of zeroing a unit, in [0, 1]. Defaults to 0.5.
        mode: ``"inverted"`` (scale by ``1/(1-p)`` in training, identity in eval — like
            :class:`torch.nn.Dropout`) or ``"classic"`` (no scaling in training, multiply by
            ``1 - p`` in eval). Defaults to ``"inverted"``.
    """

    def __init__(self, p: float = 0.5, mode: str = "inverted") -> None:
        super().__init__()
        self.p = check_probability("p", p)
        self.mode = check_choice("mode", mode, DROPOUT_MODES)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return RF.dropout(input, self.p, self.mode, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}"


@register("spatial_dropout")
class SpatialDropout(nn.Module, Configurable):
    """Channel-wise dropout for 1d/2d/3d feature maps (Tompson et al. 2015).

    See :func:`reglab.functional.spatial_dropout`. Inputs ``(N, C, L)``, ``(N, C, H, W)`` or
    ``(N, C, D, H, W)``.

    Args:
        p: probability of zeroing a channel, in [0, 1]. Defaults to 0.5.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = check_probability("p", p)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return RF.spatial_dropout(input, self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"

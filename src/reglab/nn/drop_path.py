"""``DropPath`` (stochastic depth); the math is in :mod:`reglab.functional.drop_path`."""

from __future__ import annotations

import torch
from torch import nn

from reglab import functional as RF
from reglab._validate import check_choice, check_probability
from reglab.functional.drop_path import DROP_PATH_MODES
from reglab.registry import Configurable, register

__all__ = ["DropPath"]


@register("drop_path")
class DropPath(nn.Module, Configurable):
    """Stochastic depth on a residual branch (Huang et al., ECCV 2016, arXiv:1603.09382).

    Use as ``x + self.drop_path(self.branch(x))``. See :func:`reglab.functional.drop_path`.

    Args:
        p: probability of dropping the branch, in [0, 1]. Defaults to 0.1.
        mode: ``"row"`` (per sample) or ``"batch"`` (whole batch). Defaults to ``"row"``.
        scale_by_keep: scale surviving branches by ``1 / (1 - p)``. Defaults to True.
    """

    def __init__(self, p: float = 0.1, mode: str = "row", scale_by_keep: bool = True) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        self.mode = check_choice("mode", mode, DROP_PATH_MODES)
        self.scale_by_keep = check_choice("scale_by_keep", scale_by_keep, (True, False))

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return RF.drop_path(input, self.p, self.mode, self.scale_by_keep, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode!r}, scale_by_keep={self.scale_by_keep}"

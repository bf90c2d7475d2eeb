"""``LockedDropout``; the math is in :mod:`reglab.functional.locked_dropout`."""

from __future__ import annotations

import torch
from torch import nn

from reglab import functional as RF
from reglab._validate import check_choice, check_probability
from reglab.registry import Configurable, register

__all__ = ["LockedDropout"]


@register("locked_dropout")
class LockedDropout(nn.Module, Configurable):
    """Variational dropout for sequences: one mask per sequence, the same at every time step.

    Gal & Ghahramani 2016 (arXiv:1512.05287); Merity et al. 2017, AWD-LSTM (arXiv:1708.02182).
    See :func:`reglab.functional.locked_dropout`.

    Args:
        p: probability of zeroing a feature of a sequence, in [0, 1]. Defaults to 0.5.
        batch_first: inputs are ``(B, T, C)`` (True) or ``(T, B, C)`` (False). Defaults to True.
    """

    def __init__(self, p: float = 0.5, batch_first: bool = True) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        self.batch_first = check_choice("batch_first", batch_first, (True, False))

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return RF.locked_dropout(input, self.p, self.batch_first, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, batch_first={self.batch_first}"

"""``GaussianDropout``; the math is in :mod:`reglab.functional.gaussian_dropout`."""

from __future__ import annotations

import torch
from torch import nn

from reglab import functional as RF
from reglab._validate import check_probability
from reglab.registry import Configurable, register

__all__ = ["GaussianDropout"]


@register("gaussian_dropout")
class GaussianDropout(nn.Module, Configurable):
    """Multiplicative ``N(1, p/(1-p))`` noise (Srivastava et al. 2014 §10; Wang & Manning 2013).

    See :func:`reglab.functional.gaussian_dropout`. Identity in evaluation.

    Args:
        p: the equivalent Bernoulli drop rate, in [0, 1). Defaults to 0.5.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = check_probability("p", p, allow_one=False)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return RF.gaussian_dropout(input, self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"

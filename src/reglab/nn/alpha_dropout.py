"""``AlphaDropout``; the math is in :mod:`reglab.functional.alpha_dropout`."""

from __future__ import annotations

import torch
from torch import nn

from reglab import functional as RF
from reglab._validate import check_probability
from reglab.registry import Configurable, register

__all__ = ["AlphaDropout"]


@register("alpha_dropout")
class AlphaDropout(nn.Module, Configurable):
    """Dropout for SELU networks that keeps zero mean and unit variance (Klambauer et al. 2017).

    See :func:`reglab.functional.alpha_dropout`. Identity in evaluation.

    Args:
        p: drop probability, in [0, 1). Defaults to 0.5.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = check_probability("p", p, allow_one=False)

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return RF.alpha_dropout(input, self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"

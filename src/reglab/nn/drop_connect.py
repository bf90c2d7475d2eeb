"""``DropConnect``: a linear layer with weight dropout (Wan et al. 2013)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from reglab import functional as RF
from reglab._validate import check_choice, check_int, check_probability
from reglab.registry import Configurable, register

__all__ = ["DropConnect"]


@register("drop_connect")
class DropConnect(nn.Linear, Configurable):
    """A :class:`torch.nn.Linear` whose weights are dropped in training (Wan et al., ICML 2013).

    See :func:`reglab.functional.drop_connect_linear`: one mask over the weight matrix per forward
    call, kept weights scaled by ``1 / (1 - p)``; evaluation is the plain linear map. Parameters
    and initialisation are :class:`torch.nn.Linear`'s, so its state dict loads into a Linear.

    Args:
        in_features: size of each input sample, an integer >= 1.
        out_features: size of each output sample, an integer >= 1.
        p: probability of dropping each weight, in [0, 1]. Defaults to 0.5.
        bias: learn an additive bias (never dropped). Defaults to True.
    """

    def __init__(self, in_features: int, out_features: int, p: float = 0.5, bias: bool = True) -> None:
        in_features = check_int("in_features", in_features, low=1)
        out_features = check_int("out_features", out_features, low=1)
        p = check_probability("p", p)
        bias = check_choice("bias", bias, (True, False))
        super().__init__(in_features, out_features, bias=bias)
        self.p = p

    def get_config(self) -> dict[str, Any]:
        # ``self.bias`` is the parameter (torch's name), so the flag is read from it.
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "p": self.p,
            "bias": self.bias is not None,
        }

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        return RF.drop_connect_linear(input, self.weight, self.bias, self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, p={self.p}"

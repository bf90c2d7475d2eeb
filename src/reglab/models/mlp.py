"""Multilayer perceptron (with dropout as in Srivastava et al. 2014)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from reglab._validate import check_choice, check_int, check_probability
from reglab.models._common import ACTIVATIONS, make_activation, check_input_shape, check_num_classes, dropout_layers, numel
from reglab.registry import Configurable

__all__ = ["MLP"]


class MLP(nn.Module, Configurable):
    """A fully connected classifier: flatten, ``depth`` hidden layers of ``width`` units, linear out.

    Each hidden layer is ``Linear -> [norm] -> activation -> [Dropout(dropout)]``; an optional
    ``Dropout(input_dropout)`` acts on the inputs (Srivastava et al. 2014, JMLR 15, used 0.2 on
    inputs and 0.5 on hidden units). ``depth=0`` is multinomial logistic regression. The defaults
    are the MNIST-1D authors' MLP (Greydanus & Steinbach 2020, arXiv:2011.14439): on (40,) inputs
    and 10 classes, 40-100-100-10 with 15,210 parameters.

    Args:
        input_shape: shape of one input; flattened.
        num_classes: outputs.
        width: hidden units per layer. Defaults to 100.
        depth: hidden layers (0: logistic regression). Defaults to 2.
        dropout: dropout after each hidden activation, in [0, 1); 0 adds no module. Defaults to 0.0.
        input_dropout: dropout on the flattened input, in [0, 1). Defaults to 0.0.
        norm: ``None``, ``"batch"`` (BatchNorm1d) or ``"layer"`` (LayerNorm) before each
            activation. Defaults to None.
        activation: ``"relu"``, ``"gelu"``, ``"tanh"`` or ``"silu"``. Defaults to ``"relu"``.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        width: int = 100,
        depth: int = 2,
        dropout: float = 0.0,
        input_dropout: float = 0.0,
        norm: str | None = None,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.input_shape = check_input_shape("mlp", input_shape, range(1, 6), "a shape of 1 to 5 positive integers")
        self.num_classes = check_num_classes(num_classes)
        self.width = check_int("width", width, low=1)
        self.depth = check_int("depth", depth, low=0)
        self.dropout = check_probability("dropout", dropout, allow_one=False)
        self.input_dropout = check_probability("input_dropout", input_dropout, allow_one=False)
        self.norm = check_choice("norm", norm, (None, "batch", "layer"))
        self.activation = check_choice("activation", activation, ACTIVATIONS)
        layers: list[nn.Module] = [nn.Flatten(), *dropout_layers("input_dropout", input_dropout)]
        fan_in = numel(self.input_shape)
        for _ in range(self.depth):
            layers.append(nn.Linear(fan_in, self.width))
            if norm == "batch":
                layers.append(nn.BatchNorm1d(self.width))
            elif norm == "layer":
                layers.append(nn.LayerNorm(self.width))
            layers.append(make_activation(activation))
            layers.extend(dropout_layers("dropout", dropout))
            fan_in = self.width
        layers.append(nn.Linear(fan_in, self.num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (N, *input_shape) -> (N, num_classes)


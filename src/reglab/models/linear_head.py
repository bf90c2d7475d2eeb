"""A linear classifier head for frozen embeddings (linear probing), with dropout."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from reglab._validate import check_probability
from reglab.models._common import check_input_shape, check_num_classes, dropout_layers, numel
from reglab.registry import Configurable

__all__ = ["LinearHead"]


class LinearHead(nn.Module, Configurable):
    """``Flatten -> [Dropout(dropout)] -> Linear(num_classes)`` on precomputed embeddings.

    Linear probing trains only this head on features from a frozen network (Alain & Bengio
    2016, arXiv:1610.01644); dropout on the embedding is the usual regularizer. Defaults fit any
    embedding size.

    Args:
        input_shape: shape of one embedding, usually ``(d,)``.
        num_classes: outputs.
        dropout: dropout on the embedding, in [0, 1). Defaults to 0.0.
    """

    def __init__(self, input_shape: Sequence[int], num_classes: int, *, dropout: float = 0.0) -> None:
        super().__init__()
        self.input_shape = check_input_shape(
            "linear_head", input_shape, range(1, 6), "a shape of 1 to 5 positive integers"
        )
        self.num_classes = check_num_classes(num_classes)
        self.dropout = check_probability("dropout", dropout, allow_one=False)
        self.net = nn.Sequential(
            nn.Flatten(), *dropout_layers("dropout", dropout), nn.Linear(numel(self.input_shape), self.num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (N, *input_shape) -> (N, num_classes)

"""Small convolutional classifiers: ``CNN1d`` (MNIST-1D) and ``CNN2d`` (digits, MNIST, CIFAR)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from reglab._validate import check_choice, check_int, check_probability
from reglab.errors import invalid_argument
from reglab.models._common import check_input_shape, check_num_classes, dropout_layers
from reglab.nn import SpatialDropout
from reglab.registry import Configurable

__all__ = ["CNN1d", "CNN2d"]


class CNN1d(nn.Module, Configurable):
    """The MNIST-1D authors' convolutional net (Greydanus & Steinbach 2020, arXiv:2011.14439).

    ``layers`` convolutions of ``channels`` channels (kernel 5 then 3, stride 2, padding 1), each
    followed by ReLU and, when ``spatial_dropout > 0``, channel dropout (Tompson et al. 2015);
    then flatten, ``Dropout(dropout)`` when > 0, and a linear layer. With the defaults on (40,)
    inputs and 10 classes the lengths go 40 -> 19 -> 10 -> 5, the head is 125 -> 10 and the
    model has 5,210 parameters, as in the paper.

    Args:
        input_shape: ``(length,)`` or ``(channels, length)``.
        num_classes: outputs.
        channels: channels of every convolution. Defaults to 25.
        layers: number of convolutions, >= 1. Defaults to 3.
        dropout: dropout before the linear head, in [0, 1). Defaults to 0.0.
        spatial_dropout: channel dropout after each convolution, in [0, 1). Defaults to 0.0.
        norm: ``None`` or ``"batch"`` (BatchNorm1d after each convolution). Defaults to None.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        channels: int = 25,
        layers: int = 3,
        dropout: float = 0.0,
        spatial_dropout: float = 0.0,
        norm: str | None = None,
    ) -> None:
        super().__init__()
        self.input_shape = check_input_shape("cnn1d", input_shape, (1, 2), "(length,) or (channels, length)")
        self.num_classes = check_num_classes(num_classes)
        self.channels = check_int("channels", channels, low=1)
        self.layers = check_int("layers", layers, low=1)
        self.dropout = check_probability("dropout", dropout, allow_one=False)
        self.spatial_dropout = check_probability("spatial_dropout", spatial_dropout, allow_one=False)
        self.norm = check_choice("norm", norm, (None, "batch"))
        in_ch = self.input_shape[0] if len(self.input_shape) == 2 else 1
        length = self.input_shape[-1]
        blocks: list[nn.Module] = []
        for i in range(self.layers):
            k = 5 if i == 0 else 3
            blocks.append(nn.Conv1d(in_ch, self.channels, k, stride=2, padding=1))
            length = (length + 2 - k) // 2 + 1
            if length < 1:
                raise ValueError(
                    invalid_argument(
                        "input_shape",
                        f"a length that survives {self.layers} stride-2 convolutions for model 'cnn1d'",
                        input_shape,
                    )
                )
            if norm == "batch":
                blocks.append(nn.BatchNorm1d(self.channels))
            blocks.append(nn.ReLU())
            if self.spatial_dropout > 0:
                blocks.append(SpatialDropout(self.spatial_dropout))
            in_ch = self.channels
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.Flatten(), *dropout_layers("dropout", dropout), nn.Linear(self.channels * length, self.num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(self.input_shape) == 1:
            x = x.unsqueeze(1)  # (N, L) -> (N, 1, L)
        return self.head(self.features(x))  # (N, C, L') -> (N, num_classes)


class CNN2d(nn.Module, Configurable):
    """A small VGG-style image classifier with (spatial) dropout.

    One block per entry of ``channels``: ``Conv3x3 -> [BatchNorm] -> ReLU -> [SpatialDropout]
    -> MaxPool2`` (the pool is skipped once the map is 1 pixel wide); then flatten,
    ``Linear(hidden) -> ReLU -> [Dropout(dropout)] -> Linear(num_classes)``. Spatial dropout drops
    whole feature maps (Tompson et al. 2015, arXiv:1411.4280), dropout follows Srivastava et al.
    2014. The defaults (32, 64 channels, 128 hidden) suit digits (1, 8, 8; 53,002 parameters),
    MNIST (1, 28, 28) and CIFAR-10 (3, 32, 32).

    Args:
        input_shape: ``(channels, height, width)``.
        num_classes: outputs.
        channels: output channels of each block. Defaults to (32, 64).
        hidden: units of the hidden linear layer. Defaults to 128.
        dropout: dropout after the hidden linear layer, in [0, 1). Defaults to 0.0.
        spatial_dropout: channel dropout after each block's activation, in [0, 1). Defaults to 0.0.
        norm: ``None`` or ``"batch"`` (BatchNorm2d after each convolution). Defaults to None.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        channels: Sequence[int] = (32, 64),
        hidden: int = 128,
        dropout: float = 0.0,
        spatial_dropout: float = 0.0,
        norm: str | None = None,
    ) -> None:
        super().__init__()
        self.input_shape = check_input_shape("cnn2d", input_shape, (3,), "(channels, height, width)")
        self.num_classes = check_num_classes(num_classes)
        if not isinstance(channels, (tuple, list)) or not channels:
            raise ValueError(invalid_argument("channels", "a non-empty sequence of positive integers", channels))
        self.channels = tuple(check_int("channels", c, low=1) for c in channels)
        self.hidden = check_int("hidden", hidden, low=1)
        self.dropout = check_probability("dropout", dropout, allow_one=False)
        self.spatial_dropout = check_probability("spatial_dropout", spatial_dropout, allow_one=False)
        self.norm = check_choice("norm", norm, (None, "batch"))
        in_ch, h, w = self.input_shape
        blocks: list[nn.Module] = []
        for out_ch in self.channels:
            blocks.append(nn.Conv2d(in_ch, out_ch, 3, padding=1))
            if norm == "batch":
                blocks.append(nn.BatchNorm2d(out_ch))
            blocks.append(nn.ReLU())
            if self.spatial_dropout > 0:
                blocks.append(SpatialDropout(self.spatial_dropout))
            if h >= 2 and w >= 2:
                blocks.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            in_ch = out_ch
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_ch * h * w, self.hidden),
            nn.ReLU(),
            *dropout_layers("dropout", dropout),
            nn.Linear(self.hidden, self.num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))  # (N, C, H, W) -> (N, num_classes)

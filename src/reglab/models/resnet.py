"""A small CIFAR-style residual network with stochastic depth (DropPath)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from reglab._validate import check_int, check_probability
from reglab.functional import drop_path_rates
from reglab.models._common import check_input_shape, check_num_classes, dropout_layers
from reglab.nn import DropPath
from reglab.registry import Configurable

__all__ = ["ResNet", "BasicBlock"]


class BasicBlock(nn.Module):
    """``relu(shortcut(x) + drop_path(bn(conv(relu(bn(conv(x)))))))`` (He et al. 2016).

    The shortcut is the identity, or a 1x1 convolution with BatchNorm when the shape changes.
    ``drop_path`` (a :class:`reglab.nn.DropPath`) exists only when ``drop_path_rate`` is not None.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int, drop_path_rate: float | None) -> None:
        super().__init__()
        self.branch = nn.Sequential(
            nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(),
            nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
        )
        if stride != 1 or in_ch != out_ch:
            self.shortcut: nn.Module = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm2d(out_ch)
            )
        else:
            self.shortcut = nn.Identity()
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate is not None else None
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.branch(x)
        if self.drop_path is not None:
            branch = self.drop_path(branch)
        return self.act(self.shortcut(x) + branch)


class ResNet(nn.Module, Configurable):
    """A CIFAR-style ResNet (He et al. 2016, "Deep Residual Learning", CVPR, arXiv:1512.03385).

    A 3x3 stem of ``width`` channels, three stages of ``blocks`` basic blocks with ``width``,
    ``2 * width`` and ``4 * width`` channels (strides 1, 2, 2), global average pooling,
    ``Dropout(dropout)`` when > 0, and a linear head. ``blocks=3`` is ResNet-20. Stochastic depth
    (Huang et al. 2016, arXiv:1603.09382) drops block ``i`` of ``L`` with the linear rule
    ``drop_path * i / (L - 1)`` (:func:`reglab.functional.drop_path_rates`): the first block is
    never dropped, the last with ``drop_path``. The defaults (ResNet-14, 16 channels, 175,258
    parameters for 10 classes) suit digits (1, 8, 8) up to CIFAR-10 (3, 32, 32).

    Args:
        input_shape: ``(channels, height, width)``.
        num_classes: outputs.
        width: channels of the first stage. Defaults to 16.
        blocks: basic blocks per stage. Defaults to 2.
        dropout: dropout before the linear head, in [0, 1). Defaults to 0.0.
        drop_path: the deepest block's drop rate, in [0, 1); 0 adds no DropPath. Defaults to 0.0.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        width: int = 16,
        blocks: int = 2,
        dropout: float = 0.0,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        self.input_shape = check_input_shape("resnet", input_shape, (3,), "(channels, height, width)")
        self.num_classes = check_num_classes(num_classes)
        self.width = check_int("width", width, low=1)
        self.blocks = check_int("blocks", blocks, low=1)
        self.dropout = check_probability("dropout", dropout, allow_one=False)
        self.drop_path = check_probability("drop_path", drop_path, allow_one=False)
        total = 3 * self.blocks
        rates = drop_path_rates(self.drop_path, total, "linear") if self.drop_path > 0 else [None] * total
        self.stem = nn.Sequential(
            nn.Conv2d(self.input_shape[0], self.width, 3, padding=1, bias=False),
            nn.BatchNorm2d(self.width),
            nn.ReLU(),
        )
        layers: list[nn.Module] = []
        in_ch = self.width
        for stage, mult in enumerate((1, 2, 4)):
            for b in range(self.blocks):
                stride = 2 if stage > 0 and b == 0 else 1
                layers.append(BasicBlock(in_ch, self.width * mult, stride, rates[len(layers)]))
                in_ch = self.width * mult
        self.stages = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), *dropout_layers("dropout", dropout), nn.Linear(in_ch, self.num_classes)
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))  # (N, C, H, W) -> (N, num_classes)

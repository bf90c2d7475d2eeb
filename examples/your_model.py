"""A model of your own for ``reglab study --model examples.your_model:build``.

A small residual CNN for 1-D signals (MNIST-1D: 40 samples per signal), written the way one
writes a model without reglab: its own timm-style ``DropPath`` (a ``drop_prob`` attribute) in
each residual block and its own ``nn.Dropout`` before the classifier. reglab finds both: the
``dropout`` arm sets the rate of ``dropout`` and the ``drop_path`` arm sets the blocks' DropPath
rates with the linear depth rule (see ``reglab.retrofit``). Run from the repository root::

    python examples/make_your_data.py   # writes examples/your_data.npz (MNIST-1D arrays)
    reglab study --model examples.your_model:build --data examples/your_data.npz \\
        --arms baseline,dropout,weight_decay,drop_path,mixup --epochs 20 --seeds 2
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class DropPath(nn.Module):
    """Stochastic depth (Huang et al. 2016) as timm writes it: drop the branch per sample."""

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty(x.shape[0], *([1] * (x.ndim - 1))).bernoulli_(keep)
        return x * mask / keep


class Block(nn.Module):
    """conv-BN-ReLU-conv-BN on a residual branch: ``relu(x + drop_path(branch(x)))``."""

    def __init__(self, channels: int, drop_path: float) -> None:
        super().__init__()
        self.branch = nn.Sequential(
            nn.Conv1d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm1d(channels), nn.ReLU(),
            nn.Conv1d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm1d(channels),
        )
        self.drop_path = DropPath(drop_path)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.drop_path(self.branch(x)))


class YourResNet1d(nn.Module):
    """Stem (stride 2) -> residual blocks -> flatten -> dropout -> linear."""

    def __init__(self, in_channels: int, length: int, num_classes: int, *, width: int = 16, blocks: int = 2,
                 dropout: float = 0.1, drop_path: float = 0.0) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv1d(in_channels, width, 5, stride=2, padding=2, bias=False),
                                  nn.BatchNorm1d(width), nn.ReLU())
        self.blocks = nn.Sequential(*[Block(width, drop_path) for _ in range(blocks)])
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width * ((length + 1) // 2), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 2:  # (batch, length): one channel
            x = x.unsqueeze(1)
        x = self.blocks(self.stem(x))  # (batch, width, length / 2)
        return self.head(self.dropout(x.flatten(1)))


def build(input_shape: Sequence[int], num_classes: int, **options: float) -> nn.Module:
    """reglab calls this as ``build(input_shape, num_classes, **[model.options])``.

    ``input_shape`` is ``(length,)`` or ``(channels, length)``; options: ``width`` (16),
    ``blocks`` (2), ``dropout`` (0.1), ``drop_path`` (0.0).
    """
    channels, length = (1, input_shape[0]) if len(input_shape) == 1 else (input_shape[0], input_shape[1])
    return YourResNet1d(channels, length, num_classes, **options)

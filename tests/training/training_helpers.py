"""Tiny seeded classification problems and models for the training tests (imported by them)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def make_data(n: int = 96, d: int = 8, classes: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(d, classes, generator=g)
    y = (x @ w).argmax(1)
    return x, y


def make_loaders(
    n: int = 96, batch_size: int = 16, seed: int = 0, shuffle: bool = True, d: int = 8
) -> tuple[DataLoader, DataLoader]:
    x, y = make_data(n + 48, d=d, seed=seed)
    train = DataLoader(TensorDataset(x[:n], y[:n]), batch_size=batch_size, shuffle=shuffle)
    val = DataLoader(TensorDataset(x[n:], y[n:]), batch_size=24)
    return train, val


def make_model(seed: int = 0, dropout: float = 0.0, d: int = 8, hidden: int = 16, classes: int = 3) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, classes))

"""Fixtures of the training tests; the builders live in training_helpers.py."""

from __future__ import annotations

import pytest
from torch.utils.data import DataLoader

from training_helpers import make_loaders


@pytest.fixture
def loaders() -> tuple[DataLoader, DataLoader]:
    return make_loaders()

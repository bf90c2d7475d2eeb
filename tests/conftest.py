"""Shared test setup: single-threaded torch (two xdist workers share two cores)."""

from __future__ import annotations

import os

import pytest
import torch

torch.set_num_threads(1)
os.environ.setdefault("REGLAB_PROGRESS", "0")


@pytest.fixture
def gen() -> torch.Generator:
    """A seeded CPU generator; tests that need another seed make their own."""
    return torch.Generator().manual_seed(0)

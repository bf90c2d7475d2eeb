"""Datasets for regularization studies: embedded (offline) sets, optional downloaders, regimes.

``load(name, seed=..., train_size=..., label_noise=..., val_fraction=...)`` returns
:class:`Splits` (train / validation / test tensors with a :class:`DatasetInfo`);
``Splits.loaders(batch_size, seed=...)`` gives fast :class:`TensorLoader` iterables.
``available()`` lists the datasets and what each needs (``reglab datasets``).
"""

from __future__ import annotations

from reglab.data.cache import cache_dir, default_data_dir
from reglab.data.load import load
from reglab.data.loader import TensorLoader
from reglab.data.registry import DATASETS, available, sources
from reglab.data.splits import DatasetInfo, Splits

__all__ = [
    "load",
    "Splits",
    "DatasetInfo",
    "TensorLoader",
    "available",
    "sources",
    "DATASETS",
    "cache_dir",
    "default_data_dir",
]

"""Datasets for regularization studies: embedded (offline) sets, optional downloaders, regimes.

``load(name, seed=..., train_size=..., label_noise=..., val_fraction=...)`` returns
:class:`Splits` (train / validation / test tensors with a :class:`DatasetInfo`);
``Splits.loaders(batch_size, seed=...)`` gives fast :class:`TensorLoader` iterables.
``available()`` lists the datasets and what each needs (``reglab datasets``).

Your own data: ``load`` also takes a ``.npz``/CSV/Parquet file, an image folder or a
``"package.module:loader"`` import string (:mod:`reglab.data.user`); ``from_arrays`` turns
in-memory arrays into ``Splits`` and ``register(name, data)`` makes them loadable by name (for
studies run from a notebook); ``inspect_data`` summarises what reglab reads.
"""

from __future__ import annotations

from reglab.data.arrays import from_arrays
from reglab.data.cache import cache_dir, default_data_dir
from reglab.data.inspect import Inspection, inspect_data
from reglab.data.load import load
from reglab.data.loader import TensorLoader
from reglab.data.memory import register, registered, unregister
from reglab.data.registry import DATASETS, available, sources
from reglab.data.splits import DatasetInfo, Splits

__all__ = [
    "load",
    "from_arrays",
    "register",
    "unregister",
    "registered",
    "inspect_data",
    "Inspection",
    "Splits",
    "DatasetInfo",
    "TensorLoader",
    "available",
    "sources",
    "DATASETS",
    "cache_dir",
    "default_data_dir",
]

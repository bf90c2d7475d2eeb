"""What a dataset source returns (``RawData``) and how the registry describes it (``Source``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reglab.data.regimes import random_take, round_half_up, stratified_take

__all__ = ["RawData", "Source", "holdout"]

# The seed of the fixed test split of datasets that ship without one (digits, tabular, toy sets,
# mnist5k): the test set does not change with the run's seed, so every seed is scored on it.
HOLDOUT_SEED = 20141


@dataclass(frozen=True)
class RawData:
    """A dataset as its source provides it: a training pool and a test set.

    ``x_*`` have shape (N, *input_shape) in any float or integer dtype (scaled as the source
    decides); ``y_*`` are integer class labels (or floats for regression). ``x_val``/``y_val``:
    a validation split the data brings (user data; None: ``load`` carves one out of the training
    pool). ``notes``: sentences on how the data was read (shown by ``--inspect`` and the report).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    normalization: str  # "channel" | "feature" | "global" | "none"
    class_names: tuple[str, ...] = ()
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """One entry of the dataset registry.

    Attributes:
        name: registry name.
        description: one line: what it is, where it comes from.
        task: ``"classification"`` or ``"regression"``.
        input_shape: shape of one input.
        num_classes: classes (1 for regression).
        size: training pool / test sizes for the listing, e.g. ``"4000 / 1000"``.
        needs: ``"nothing"``, ``"extra reglab[mnist5k]"``, ``"download or --data-dir"``.
        fetch: ``fetch(data_dir, **options) -> RawData``; its keyword-only arguments are the
            dataset's options (with their defaults).
    """

    name: str
    description: str
    task: str
    input_shape: tuple[int, ...]
    num_classes: int
    size: str
    needs: str
    fetch: Callable[..., RawData]


def holdout(
    x: np.ndarray, y: np.ndarray, test_fraction: float, *, stratify: bool = True
) -> tuple[np.ndarray, ...]:
    """A fixed test split (seed ``HOLDOUT_SEED``, stratified by class unless ``stratify=False``):
    ``x_train, y_train, x_test, y_test``."""
    n_test = round_half_up(test_fraction * len(y))
    rng = np.random.default_rng(HOLDOUT_SEED)
    if stratify:
        test, train = stratified_take(y, n_test, rng)
    else:
        test, train = random_take(len(y), n_test, rng)
    return x[train], y[train], x[test], y[test]

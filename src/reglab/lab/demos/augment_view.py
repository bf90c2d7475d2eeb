"""The augmentation view: training samples of the built-in sets beside augmented copies.

One label-preserving op per kind of data from :mod:`reglab.augment`, each a draw per sample:
input jitter for the 2-D sets (``strength`` is the noise std in units of each feature's spread),
a random circular shift for MNIST-1D signals (up to ``round(strength * 10)`` samples; the
signals' patterns keep their class wherever they sit) and a random crop with zero padding for
the 8x8 digits (up to ``round(strength * 2)`` pixels; no flips: a mirrored 2 is not a 2).
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from reglab.augment.image import random_crop
from reglab.augment.signal import jitter, random_shift
from reglab.lab.demos.common import clean
from reglab.lab.schemas import AugmentQuery

__all__ = ["augment_payload", "SHOWN"]

SHOWN = 6  # samples shown for signals and images


@functools.lru_cache(maxsize=4)
def _splits(dataset: str) -> Any:
    from reglab.data import load

    return load(dataset, seed=0, train_size=200 if dataset == "moons" else None)


def augment_payload(q: AugmentQuery) -> dict[str, Any]:
    splits = _splits(q.dataset)
    generator = torch.Generator().manual_seed(q.seed)
    x, y = splits.x_train, splits.y_train
    if q.dataset == "moons":
        op, amount = "jitter", q.strength
        augmented = jitter(x, q.strength, generator)
        shown = slice(None)
    elif q.dataset == "mnist1d":
        op, amount = "circular shift", round(q.strength * 10)
        idx = torch.randperm(len(x), generator=generator)[:SHOWN]
        x, y = x[idx], y[idx]
        augmented = random_shift(x, amount, generator=generator)  # circular
        shown = slice(None)
    else:
        op, amount = "random crop", round(q.strength * 2)
        idx = torch.randperm(len(x), generator=generator)[:SHOWN]
        x, y = x[idx].reshape(SHOWN, 1, 8, 8), y[idx]
        augmented = random_crop(x, amount, generator)
        x, augmented = x.reshape(SHOWN, 8, 8), augmented.reshape(SHOWN, 8, 8)
        shown = slice(None)
    return {"dataset": q.dataset, "op": op, "amount": amount, "strength": q.strength, "seed": q.seed,
            "labels": y[shown].tolist(), "original": clean(x[shown], 4), "augmented": clean(augmented[shown], 4)}

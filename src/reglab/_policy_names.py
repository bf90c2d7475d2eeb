"""The names of reglab's augmentation policies and the per-dataset table they read: plain data,
no torch, so ``reglab.techniques`` (and ``reglab.analysis`` through it) can name and check them
without importing ``reglab.augment``. ``reglab.augment.policies`` documents and resolves them."""

from __future__ import annotations

__all__ = ["POLICIES", "DATASET_AUGMENTATION"]

POLICIES = ("none", "auto", "shift", "crop", "crop_flip", "crop_rotate", "trivial")

#: ``name -> (modality, flip keeps the label)`` for the built-in datasets.
DATASET_AUGMENTATION: dict[str, tuple[str, bool]] = {
    "mnist1d": ("signal", False),
    "digits": ("image", False),
    "mnist5k": ("image", False),
    "mnist": ("image", False),
    "fashion_mnist": ("image", True),
    "cifar10": ("image", True),
}

"""Overfitting regimes applied to a training pool: stratified subsets, label noise, normalisation.

All randomness comes from a ``numpy.random.Generator`` passed in, so ``reglab.data.load`` gives
the same splits for the same seed.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "proportional_counts",
    "stratified_take",
    "random_take",
    "per_class_take",
    "flip_labels",
    "normalization_stats",
    "round_half_up",
]


def round_half_up(value: float) -> int:
    """``floor(value + 0.5)``: 2.5 -> 3 (Python's ``round`` would give 2)."""
    return int(np.floor(value + 0.5))


def proportional_counts(class_counts: np.ndarray, n: int) -> np.ndarray:
    """How many of each class a stratified sample of ``n`` takes (largest-remainder rounding).

    The counts sum to ``n`` exactly and each is within one of ``n * count_k / total``; ties in the
    remainder go to the lower class index.

    >>> proportional_counts(np.array([5, 3, 2]), 5).tolist()
    [3, 1, 1]
    """
    class_counts = np.asarray(class_counts, dtype=np.int64)
    total = int(class_counts.sum())
    if n > total:
        raise RuntimeError(f"cannot take {n} of {total} samples")  # callers validate first
    quota = class_counts * n / total if total else np.zeros(len(class_counts))
    base = np.floor(quota).astype(np.int64)
    remainder = n - int(base.sum())
    if remainder:
        order = np.lexsort((np.arange(len(quota)), -(quota - base)))  # largest fraction first
        for k in order:
            if remainder == 0:
                break
            if base[k] < class_counts[k]:
                base[k] += 1
                remainder -= 1
    return base


def stratified_take(y: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split indices of ``y`` into ``n`` taken (class proportions kept) and the rest, both sorted."""
    classes, inverse = np.unique(y, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(classes))
    take_counts = proportional_counts(counts, n)
    taken = []
    for k in range(len(classes)):
        members = np.flatnonzero(inverse == k)
        taken.append(rng.permutation(members)[: take_counts[k]])
    take = np.sort(np.concatenate(taken)) if taken else np.zeros(0, dtype=np.int64)
    rest = np.setdiff1d(np.arange(len(y)), take, assume_unique=True)
    return take, rest


def random_take(size: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random indices of ``range(size)`` and the rest, both sorted (for regression)."""
    perm = rng.permutation(size)
    return np.sort(perm[:n]), np.sort(perm[n:])


def per_class_take(y: np.ndarray, n_per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``n_per_class`` random indices of every class of ``y`` (sorted); callers check counts."""
    taken = [rng.permutation(np.flatnonzero(y == c))[:n_per_class] for c in np.unique(y)]
    return np.sort(np.concatenate(taken))


def flip_labels(
    y: np.ndarray, fraction: float, num_classes: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Flip exactly ``round_half_up(fraction * len(y))`` labels, each to a different class.

    The flipped samples are drawn without replacement; each new label is uniform over the
    ``num_classes - 1`` other classes (symmetric label noise). Returns the new labels and a
    boolean mask of the flipped samples.
    """
    n_flip = round_half_up(fraction * len(y))
    flipped = np.zeros(len(y), dtype=bool)
    new = np.array(y, copy=True)
    if n_flip == 0 or num_classes < 2:
        return new, flipped
    idx = rng.choice(len(y), size=n_flip, replace=False)
    shift = rng.integers(1, num_classes, size=n_flip)
    new[idx] = (new[idx] + shift) % num_classes
    flipped[idx] = True
    return new, flipped


def normalization_stats(x: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the training inputs ``x`` (N, ...) that broadcast against ``x``.

    ``mode``: ``"channel"`` (per channel of (N, C, H, W) images), ``"feature"`` (per input
    feature), ``"global"`` (one scalar, MNIST-1D's own scheme). A zero std becomes 1 so constant
    features stay finite.
    """
    if mode == "channel":
        axes: tuple[int, ...] = (0,) + tuple(range(2, x.ndim))
    elif mode == "feature":
        axes = (0,)
    elif mode == "global":
        axes = tuple(range(x.ndim))
    else:
        raise RuntimeError(f"unknown normalisation mode {mode!r}")
    if len(x) == 0:
        shape = [1] * x.ndim
        return np.zeros(shape), np.ones(shape)
    mean = x.mean(axis=axes, keepdims=True, dtype=np.float64)
    std = x.std(axis=axes, keepdims=True, dtype=np.float64)
    std[std == 0] = 1.0
    return mean, std

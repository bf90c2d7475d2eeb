"""Two-dimensional toy sets for decision-boundary work: moons, circles, spirals, xor, blobs.

Each is generated from ``data_seed`` (the same points for every run seed), ``n_samples`` points in
all, of which a fixed stratified ``test_fraction`` is held out for testing; ``noise`` sets how
much the classes overlap. Inputs have shape (2,) and are standardised per feature with training
statistics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reglab._validate import check_int, check_non_negative, check_range
from reglab.data.source import RawData, holdout

__all__ = ["fetch_moons", "fetch_circles", "fetch_spirals", "fetch_xor", "fetch_blobs"]


def _check_common(n_samples: int, noise: float, test_fraction: float, data_seed: int) -> None:
    check_int("n_samples", n_samples, low=10)
    check_non_negative("noise", noise)
    check_range("test_fraction", test_fraction, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_int("data_seed", data_seed, low=0)


def _finish(x: np.ndarray, y: np.ndarray, test_fraction: float, num_classes: int) -> RawData:
    x = x.astype(np.float32)
    y = y.astype(np.int64)
    names = tuple(str(i) for i in range(num_classes))
    return RawData(*holdout(x, y, test_fraction), "feature", names)


def fetch_moons(
    data_dir: Path | None,
    *,
    n_samples: int = 1000,
    noise: float = 0.2,
    test_fraction: float = 0.2,
    data_seed: int = 0,
) -> RawData:
    """Two interleaving half circles (``sklearn.datasets.make_moons``), 2 classes.

    Defaults to ``n_samples=1000``, ``noise=0.2`` (std of Gaussian jitter), ``test_fraction=0.2``,
    ``data_seed=0``.
    """
    from sklearn.datasets import make_moons

    _check_common(n_samples, noise, test_fraction, data_seed)
    x, y = make_moons(n_samples=n_samples, noise=noise, random_state=data_seed)
    return _finish(x, y, test_fraction, 2)


def fetch_circles(
    data_dir: Path | None,
    *,
    n_samples: int = 1000,
    noise: float = 0.1,
    factor: float = 0.5,
    test_fraction: float = 0.2,
    data_seed: int = 0,
) -> RawData:
    """A small circle inside a large one (``sklearn.datasets.make_circles``), 2 classes.

    Defaults to ``n_samples=1000``, ``noise=0.1``, ``factor=0.5`` (inner/outer radius),
    ``test_fraction=0.2``, ``data_seed=0``.
    """
    from sklearn.datasets import make_circles

    _check_common(n_samples, noise, test_fraction, data_seed)
    check_range("factor", factor, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    x, y = make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=data_seed)
    return _finish(x, y, test_fraction, 2)


def fetch_spirals(
    data_dir: Path | None,
    *,
    n_samples: int = 1000,
    noise: float = 0.05,
    turns: float = 1.5,
    test_fraction: float = 0.2,
    data_seed: int = 0,
) -> RawData:
    """Two interleaved Archimedean spirals, 2 classes (Lang & Witbrock 1988's benchmark).

    Arm ``c`` is ``r (cos(t + c pi), sin(t + c pi))`` with ``t = r * turns * 2 pi``, radius ``r``
    in [0, 1] drawn as ``sqrt(uniform)``; then Gaussian jitter of std ``noise``. Defaults to
    ``n_samples=1000``, ``noise=0.05``, ``turns=1.5``, ``test_fraction=0.2``, ``data_seed=0``.
    """
    _check_common(n_samples, noise, test_fraction, data_seed)
    check_range("turns", turns, 0.0, None, low_inclusive=False)
    rng = np.random.default_rng(data_seed)
    y = np.arange(n_samples) % 2
    r = np.sqrt(rng.uniform(0.0, 1.0, size=n_samples))
    t = r * turns * 2 * np.pi + y * np.pi
    x = np.stack([r * np.cos(t), r * np.sin(t)], axis=1) + noise * rng.standard_normal((n_samples, 2))
    return _finish(x, y, test_fraction, 2)


def fetch_xor(
    data_dir: Path | None,
    *,
    n_samples: int = 1000,
    noise: float = 0.05,
    test_fraction: float = 0.2,
    data_seed: int = 0,
) -> RawData:
    """XOR: points uniform in [-1, 1]^2, class 1 where the two coordinates differ in sign.

    Gaussian jitter of std ``noise`` is added after labelling, so points near the axes cross the
    boundary. Defaults to ``n_samples=1000``, ``noise=0.05``, ``test_fraction=0.2``, ``data_seed=0``.
    """
    _check_common(n_samples, noise, test_fraction, data_seed)
    rng = np.random.default_rng(data_seed)
    x = rng.uniform(-1.0, 1.0, size=(n_samples, 2))
    y = ((x[:, 0] > 0) != (x[:, 1] > 0)).astype(np.int64)
    x = x + noise * rng.standard_normal((n_samples, 2))
    return _finish(x, y, test_fraction, 2)


def fetch_blobs(
    data_dir: Path | None,
    *,
    n_samples: int = 1000,
    noise: float = 1.0,
    centers: int = 3,
    test_fraction: float = 0.2,
    data_seed: int = 0,
) -> RawData:
    """Isotropic Gaussian blobs (``sklearn.datasets.make_blobs``), one class per center.

    ``noise`` is the clusters' std. Defaults to ``n_samples=1000``, ``noise=1.0``, ``centers=3``,
    ``test_fraction=0.2``, ``data_seed=0``.
    """
    from sklearn.datasets import make_blobs

    _check_common(n_samples, noise, test_fraction, data_seed)
    check_int("centers", centers, low=2, high=n_samples)
    x, y = make_blobs(n_samples=n_samples, centers=centers, cluster_std=noise, random_state=data_seed)
    return _finish(x, y, test_fraction, centers)

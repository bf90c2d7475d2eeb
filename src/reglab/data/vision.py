"""MNIST, Fashion-MNIST and CIFAR-10: read from standard files, or downloaded through torchvision.

Where a loader looks, in order: with an explicit ``data_dir`` D: ``D``, ``D/<name>``, and the
folder torchvision creates (``D/MNIST/raw``, ``D/FashionMNIST/raw``, ``D/cifar-10-batches-py``);
without one, the same sub-folders of :func:`reglab.data.cache.default_data_dir`. When the files
are not there and ``download`` is true, torchvision (optional extra ``reglab[vision]``) downloads
them into that folder; offline or without torchvision, :class:`DataUnavailableError` says what to
install or which files to put where.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reglab.data.cache import default_data_dir
from reglab.data.files import (
    CIFAR_TEST_BATCH,
    CIFAR_TRAIN_BATCHES,
    read_cifar10_bin,
    read_cifar10_python,
    read_cifar10_tar,
    read_idx,
)
from reglab.data.source import RawData
from reglab.errors import DataUnavailableError

__all__ = ["fetch_mnist", "fetch_fashion_mnist", "fetch_cifar10", "IDX_FILES", "CIFAR10_CLASSES"]

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


def _root(data_dir: Path | None) -> Path:
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


def _candidates(data_dir: Path | None, subdirs: tuple[str, ...]) -> list[Path]:
    root = _root(data_dir)
    dirs = [root / sub for sub in subdirs]
    return [root, *dirs] if data_dir is not None else dirs


def _find(directory: Path, base: str) -> Path | None:
    for name in (base + ".gz", base):
        if (directory / name).is_file():
            return directory / name
    return None


def _torchvision_download(name: str, cls_name: str, root: Path, hint: str) -> None:
    """Download ``name`` with ``torchvision.datasets.<cls_name>`` into ``root``."""
    try:
        import torchvision.datasets as tvd
    except ImportError:
        raise DataUnavailableError(
            f"Dataset {name!r} is not available: its files are not in {root} and torchvision, "
            f"which downloads them, is not installed. Install it with: pip install 'reglab[vision]' "
            f"(needs network access), or {hint}"
        ) from None
    root.mkdir(parents=True, exist_ok=True)
    try:
        for train in (True, False):
            getattr(tvd, cls_name)(str(root), train=train, download=True)
    except Exception as exc:  # noqa: BLE001 - network errors come in many types
        raise DataUnavailableError(
            f"Downloading dataset {name!r} through torchvision failed ({type(exc).__name__}: {exc}). "
            f"If this machine is offline, {hint}"
        ) from None


def _fetch_idx(
    name: str, subdirs: tuple[str, ...], tv_class: str, data_dir: Path | None, download: bool,
    class_names: tuple[str, ...],
) -> RawData:
    def locate() -> dict[str, Path] | None:
        for directory in _candidates(data_dir, subdirs):
            found = {base: _find(directory, base) for base in IDX_FILES}
            if all(found.values()):
                return found  # type: ignore[return-value]
        return None

    root = _root(data_dir)
    hint = (
        f"put {', '.join(f + '.gz' for f in IDX_FILES)} (gzip-compressed or not) in {root} "
        f"and pass data_dir={str(root)!r} (CLI: --data-dir {root})."
    )
    files = locate()
    if files is None:
        if not download:
            raise DataUnavailableError(f"Dataset {name!r} was not found and download=False: {hint}")
        _torchvision_download(name, tv_class, root, hint)
        files = locate()
        if files is None:
            raise DataUnavailableError(f"Dataset {name!r}: torchvision finished but no files appeared; {hint}")
    x_train = read_idx(files[IDX_FILES[0]])
    y_train = read_idx(files[IDX_FILES[1]]).astype(np.int64)
    x_test = read_idx(files[IDX_FILES[2]])
    y_test = read_idx(files[IDX_FILES[3]]).astype(np.int64)
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "t10k")):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
            raise DataUnavailableError(
                f"Dataset {name!r}: the {split} files hold images of shape {x.shape} and {len(y)} "
                f"labels; expected (N, 28, 28) and N labels."
            )
    scale = np.float32(1.0 / 255.0)
    return RawData(
        x_train[:, None].astype(np.float32) * scale, y_train,
        x_test[:, None].astype(np.float32) * scale, y_test,
        "channel", class_names,
    )


def fetch_mnist(data_dir: Path | None, *, download: bool = True) -> RawData:
    """MNIST (LeCun et al. 1998): 60,000 / 10,000 images (1, 28, 28), pixels scaled to [0, 1].

    Reads the four IDX files, or downloads them through torchvision. Defaults to ``download=True``.
    """
    return _fetch_idx("mnist", ("mnist", "MNIST/raw"), "MNIST", data_dir, download,
                      tuple(str(i) for i in range(10)))


def fetch_fashion_mnist(data_dir: Path | None, *, download: bool = True) -> RawData:
    """Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747): 60,000 / 10,000 (1, 28, 28).

    Same IDX file names as MNIST. Defaults to ``download=True``.
    """
    return _fetch_idx("fashion_mnist", ("fashion_mnist", "FashionMNIST/raw"), "FashionMNIST",
                      data_dir, download, FASHION_CLASSES)


def fetch_cifar10(data_dir: Path | None, *, download: bool = True) -> RawData:
    """CIFAR-10 (Krizhevsky 2009): 50,000 / 10,000 colour images (3, 32, 32), 10 classes.

    Reads, in order of preference, the binary batches (``data_batch_1.bin`` ... ``test_batch.bin``,
    NumPy only), the python batches (``data_batch_1`` ... ``test_batch``), or the archive
    ``cifar-10-python.tar.gz``; else downloads through torchvision. Defaults to ``download=True``.
    """
    name = "cifar10"
    root = _root(data_dir)
    dirs = _candidates(data_dir, ("cifar10", "cifar-10-batches-bin", "cifar-10-batches-py"))
    hint = (
        f"put the CIFAR-10 batches (data_batch_1 ... data_batch_5 and test_batch, python or .bin "
        f"version) or cifar-10-python.tar.gz in {root} and pass data_dir={str(root)!r} "
        f"(CLI: --data-dir {root})."
    )

    def locate() -> tuple[np.ndarray, ...] | None:
        for directory in dirs:
            bins = [directory / f"{b}.bin" for b in (*CIFAR_TRAIN_BATCHES, CIFAR_TEST_BATCH)]
            if all(p.is_file() for p in bins):
                parts = [read_cifar10_bin(p) for p in bins]
                break
            pys = [directory / b for b in (*CIFAR_TRAIN_BATCHES, CIFAR_TEST_BATCH)]
            if all(p.is_file() for p in pys):
                parts = [read_cifar10_python(p) for p in pys]
                break
            tar = directory / "cifar-10-python.tar.gz"
            if tar.is_file():
                return read_cifar10_tar(tar)
        else:
            return None
        x_train = np.concatenate([p[0] for p in parts[:5]])
        y_train = np.concatenate([p[1] for p in parts[:5]])
        return x_train, y_train, parts[5][0], parts[5][1]

    found = locate()
    if found is None:
        if not download:
            raise DataUnavailableError(f"Dataset {name!r} was not found and download=False: {hint}")
        _torchvision_download(name, "CIFAR10", root, hint)
        found = locate()
        if found is None:
            raise DataUnavailableError(f"Dataset {name!r}: torchvision finished but no files appeared; {hint}")
    x_train, y_train, x_test, y_test = found
    scale = np.float32(1.0 / 255.0)
    return RawData(
        x_train.astype(np.float32) * scale, y_train, x_test.astype(np.float32) * scale, y_test,
        "channel", CIFAR10_CLASSES,
    )

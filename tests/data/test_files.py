"""Reading MNIST / Fashion-MNIST IDX files and CIFAR-10 batches from a data directory (no network)."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import sys
import tarfile
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from reglab.data import load
from reglab.data.files import read_cifar10_python, read_idx
from reglab.errors import DataUnavailableError


def write_idx(path: Path, array: np.ndarray, *, compress: bool = True) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


def write_mnist(directory: Path, n_train: int = 30, n_test: int = 10, *, compress: bool = True, seed: int = 0):
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, size=(n_train, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, size=(n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) * 3) % 10,
    }
    for name, arr in arrays.items():
        write_idx(directory / (name + (".gz" if compress else "")), arr, compress=compress)
    return arrays


def test_read_idx_plain_and_gzip(tmp_path: Path) -> None:
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", a)
    write_idx(tmp_path / "a", a, compress=False)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), a) and np.array_equal(read_idx(tmp_path / "a"), a)


def test_read_idx_rejects_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x08\x01rest")
    with pytest.raises(DataUnavailableError) as exc:
        read_idx(bad)
    assert str(exc.value) == f"File {bad} is not an IDX file: expected a header 00 00 <type> <ndim>, found 01 02 08 01."
    short = tmp_path / "short"
    short.write_bytes(struct.pack(">BBBBI", 0, 0, 8, 1, 5) + b"abc")
    with pytest.raises(DataUnavailableError) as exc:
        read_idx(short)
    assert str(exc.value) == (
        f"File {short} has 11 bytes; an IDX array of shape (5,) and type uint8 needs 13."
    )


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_from_data_dir(tmp_path: Path, compress: bool) -> None:
    arrays = write_mnist(tmp_path, compress=compress)
    s = load("mnist", data_dir=tmp_path, normalize=False, val_fraction=0.0)
    assert s.info.input_shape == (1, 28, 28) and s.info.num_classes == 10
    assert (s.info.n_train, s.info.n_test) == (30, 10)
    expected_test = torch.from_numpy(arrays["t10k-images-idx3-ubyte"].astype(np.float32) / 255).unsqueeze(1)
    assert torch.allclose(s.x_test, expected_test, atol=1e-7)
    assert s.y_test.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    assert sorted(s.y_train.tolist()) == sorted(arrays["train-labels-idx1-ubyte"].tolist())


def test_fashion_mnist_in_the_torchvision_layout(tmp_path: Path) -> None:
    write_mnist(tmp_path / "FashionMNIST" / "raw", n_train=20, n_test=10)
    s = load("fashion_mnist", data_dir=tmp_path, val_fraction=0.5)
    assert (s.info.n_train, s.info.n_val, s.info.n_test) == (10, 10, 10)
    assert s.info.class_names[0] == "T-shirt/top" and s.info.class_names[9] == "Ankle boot"


def test_default_data_dir_is_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGLAB_DATA_DIR", str(tmp_path))
    write_mnist(tmp_path / "mnist", n_train=10, n_test=10)
    assert load("mnist", val_fraction=0.0).info.n_train == 10


def _no_torchvision(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torchvision", None)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)


IDX_HINT = (
    "put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
    "t10k-labels-idx1-ubyte.gz (gzip-compressed or not) in {d} and pass data_dir='{d}' (CLI: --data-dir {d})."
)


def test_missing_files_without_torchvision_say_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_torchvision(monkeypatch)
    with pytest.raises(DataUnavailableError) as exc:
        load("mnist", data_dir=tmp_path)
    assert str(exc.value) == (
        f"Dataset 'mnist' is not available: its files are not in {tmp_path} and torchvision, which "
        "downloads them, is not installed. Install it with: pip install 'reglab[vision]' (needs "
        "network access), or " + IDX_HINT.format(d=tmp_path)
    )


def test_missing_files_with_download_off(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError) as exc:
        load("mnist", data_dir=tmp_path, download=False)
    assert str(exc.value) == "Dataset 'mnist' was not found and download=False: " + IDX_HINT.format(d=tmp_path)


def test_offline_torchvision_download_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class OfflineMNIST:
        def __init__(self, root: str, train: bool, download: bool) -> None:
            raise OSError("[Errno 101] Network is unreachable")

    datasets = types.ModuleType("torchvision.datasets")
    datasets.MNIST = OfflineMNIST  # type: ignore[attr-defined]
    tv = types.ModuleType("torchvision")
    tv.datasets = datasets  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", tv)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)
    with pytest.raises(DataUnavailableError) as exc:
        load("mnist", data_dir=tmp_path)
    assert str(exc.value) == (
        "Downloading dataset 'mnist' through torchvision failed (OSError: [Errno 101] Network is "
        "unreachable). If this machine is offline, " + IDX_HINT.format(d=tmp_path)
    )


def test_torchvision_download_is_read_from_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeMNIST:  # writes what torchvision leaves on disk: <root>/MNIST/raw/*-ubyte
        def __init__(self, root: str, train: bool, download: bool) -> None:
            if train:
                write_mnist(Path(root) / "MNIST" / "raw", n_train=20, n_test=10, compress=False)

    datasets = types.ModuleType("torchvision.datasets")
    datasets.MNIST = FakeMNIST  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", types.ModuleType("torchvision"))
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)
    s = load("mnist", data_dir=tmp_path, val_fraction=0.0)
    assert (s.info.n_train, s.info.n_test) == (20, 10)


def _cifar_batches(n: int = 4, seed: int = 0) -> dict[str, tuple[np.ndarray, list[int]]]:
    rng = np.random.default_rng(seed)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return {
        name: (rng.integers(0, 256, size=(n, 3072)).astype(np.uint8), [int(v) for v in (np.arange(n) + k) % 10])
        for k, name in enumerate(names)
    }


def _pickled(data: np.ndarray, labels: list[int]) -> bytes:
    return pickle.dumps({b"batch_label": b"x", b"labels": labels, b"data": data, b"filenames": [b"f"] * len(labels)}, protocol=2)


def _check_cifar(s, batches) -> None:
    assert s.info.input_shape == (3, 32, 32) and (s.info.n_train, s.info.n_test) == (20, 4)
    data, labels = batches["test_batch"]
    expected = torch.from_numpy(data.astype(np.float32) / 255).reshape(4, 3, 32, 32)
    assert torch.allclose(s.x_test, expected) and s.y_test.tolist() == labels
    # the first row of the red plane is the first 32 bytes of a record
    assert torch.allclose(s.x_test[0, 0, 0], torch.from_numpy(data[0, :32].astype(np.float32) / 255))
    assert sorted(s.y_train.tolist()) == sorted(sum((batches[f"data_batch_{i}"][1] for i in range(1, 6)), []))
    assert s.info.class_names[0] == "airplane"


def test_cifar10_python_batches(tmp_path: Path) -> None:
    batches = _cifar_batches()
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name, (data, labels) in batches.items():
        (folder / name).write_bytes(_pickled(data, labels))
    _check_cifar(load("cifar10", data_dir=tmp_path, normalize=False, val_fraction=0.0), batches)


def test_cifar10_binary_batches(tmp_path: Path) -> None:
    batches = _cifar_batches(seed=1)
    for name, (data, labels) in batches.items():
        records = np.concatenate([np.array(labels, dtype=np.uint8)[:, None], data], axis=1)
        (tmp_path / f"{name}.bin").write_bytes(records.tobytes())
    _check_cifar(load("cifar10", data_dir=tmp_path, normalize=False, val_fraction=0.0), batches)


def test_cifar10_straight_from_the_archive(tmp_path: Path) -> None:
    batches = _cifar_batches(seed=2)
    with tarfile.open(tmp_path / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name, (data, labels) in batches.items():
            blob = _pickled(data, labels)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    _check_cifar(load("cifar10", data_dir=tmp_path, normalize=False, val_fraction=0.0), batches)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_cifar_pickle_with_foreign_globals_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Evil(), b"labels": []}, protocol=2))
    with pytest.raises(DataUnavailableError) as exc:
        read_cifar10_python(path)
    assert str(exc.value) == (
        f"File {path} is not a CIFAR-10 python batch (a pickled dict with 'data' and 'labels'): "
        "global __builtin__.print is not allowed in a CIFAR-10 batch."  # protocol 2 names builtins so
    )


def test_cifar_missing_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_torchvision(monkeypatch)
    with pytest.raises(DataUnavailableError) as exc:
        load("cifar10", data_dir=tmp_path)
    assert str(exc.value) == (
        f"Dataset 'cifar10' is not available: its files are not in {tmp_path} and torchvision, which "
        "downloads them, is not installed. Install it with: pip install 'reglab[vision]' (needs "
        "network access), or put the CIFAR-10 batches (data_batch_1 ... data_batch_5 and test_batch, "
        f"python or .bin version) or cifar-10-python.tar.gz in {tmp_path} and pass data_dir='{tmp_path}' "
        f"(CLI: --data-dir {tmp_path})."
    )

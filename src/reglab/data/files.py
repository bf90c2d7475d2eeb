"""Readers for the standard dataset files a user can place in a ``--data-dir``.

* IDX (LeCun et al.'s MNIST format, also Fashion-MNIST's), plain or gzip-compressed: parsed with
  NumPy only.
* CIFAR-10 binary batches (``data_batch_1.bin`` ...): NumPy only.
* CIFAR-10 python batches (``data_batch_1`` ... pickles): read with an unpickler that only
  admits the NumPy array reconstructors, so a tampered file cannot run code.
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from reglab.errors import DataUnavailableError

__all__ = ["read_idx", "read_cifar10_bin", "read_cifar10_python", "read_cifar10_tar"]

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is named
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataUnavailableError(f"File {path} is not a valid gzip file: {exc}.") from None
    return raw


def read_idx(path: Path) -> np.ndarray:
    """The array stored in an IDX file (``.gz`` or plain).

    Format: two zero bytes, a type code (0x08 = uint8 ...), the number of dimensions, then each
    dimension as a big-endian uint32, then the data in C order, big-endian.
    """
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataUnavailableError(
            f"File {path} is not an IDX file: expected a header 00 00 <type> <ndim>, "
            f"found {raw[:4].hex(' ') or 'an empty file'}."
        )
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataUnavailableError(f"File {path} is truncated: its IDX header needs {header} bytes.")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(shape)) if shape else 1
    expected = header + count * dtype.itemsize
    if len(raw) != expected:
        raise DataUnavailableError(
            f"File {path} has {len(raw)} bytes; an IDX array of shape {shape} and type {dtype} "
            f"needs {expected}."
        )
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


_CIFAR_RECORD = 1 + 3 * 32 * 32


def read_cifar10_bin(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64 of a CIFAR-10 binary batch.

    Each record is one label byte followed by 3,072 pixel bytes: the red, green and blue 32x32
    planes in row-major order.
    """
    raw = _read_bytes(path)
    if len(raw) == 0 or len(raw) % _CIFAR_RECORD:
        raise DataUnavailableError(
            f"File {path} has {len(raw)} bytes; a CIFAR-10 binary batch is a multiple of "
            f"{_CIFAR_RECORD} bytes."
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _CIFAR_RECORD)
    return records[:, 1:].reshape(-1, 3, 32, 32).copy(), records[:, 0].astype(np.int64)


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Admits only what CIFAR-10's batches contain: dicts, lists, bytes and NumPy arrays."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):  # type: ignore[override]
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR-10 batch")
        return super().find_class(module, name)


def _parse_cifar_pickle(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        batch = _ArrayOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
        data = batch[b"data"] if b"data" in batch else batch["data"]
        labels = batch[b"labels"] if b"labels" in batch else batch["labels"]
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a CIFAR batch"
        raise DataUnavailableError(
            f"{where} is not a CIFAR-10 python batch (a pickled dict with 'data' and 'labels'): {exc}."
        ) from None
    data = np.asarray(data, dtype=np.uint8)
    labels = np.asarray(labels, dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DataUnavailableError(
            f"{where} holds data of shape {data.shape} and {len(labels)} labels; expected "
            f"(N, 3072) and N labels."
        )
    return data.reshape(-1, 3, 32, 32), labels


def read_cifar10_python(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64 of a CIFAR-10 python batch file."""
    return _parse_cifar_pickle(_read_bytes(path), f"File {path}")


CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_BATCH = "test_batch"


def read_cifar10_tar(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``x_train, y_train, x_test, y_test`` straight from ``cifar-10-python.tar.gz``."""
    parts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar.getmembers():
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in (*CIFAR_TRAIN_BATCHES, CIFAR_TEST_BATCH):
                    fh = tar.extractfile(member)
                    if fh is None:
                        continue
                    parts[base] = _parse_cifar_pickle(fh.read(), f"Member {member.name} of {path}")
    except tarfile.TarError as exc:
        raise DataUnavailableError(f"File {path} is not a readable tar archive: {exc}.") from None
    missing = [n for n in (*CIFAR_TRAIN_BATCHES, CIFAR_TEST_BATCH) if n not in parts]
    if missing:
        raise DataUnavailableError(f"Archive {path} lacks the CIFAR-10 batches {', '.join(missing)}.")
    x_train = np.concatenate([parts[n][0] for n in CIFAR_TRAIN_BATCHES])
    y_train = np.concatenate([parts[n][1] for n in CIFAR_TRAIN_BATCHES])
    return x_train, y_train, parts[CIFAR_TEST_BATCH][0], parts[CIFAR_TEST_BATCH][1]

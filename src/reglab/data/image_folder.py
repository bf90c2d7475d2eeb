"""An image folder, one sub-folder per class (torchvision's ``ImageFolder`` layout), read with Pillow.

::

    pets/cat/001.png          pets/train/cat/001.png
    pets/cat/002.jpg    or    pets/train/dog/...
    pets/dog/...              pets/test/cat/...   (optional val/ too)

* Classes are the sub-folder names in sorted order (at least two); files whose suffix is not an
  image suffix Pillow reads (``.png``, ``.jpg``, ``.jpeg``, ``.bmp``, ``.gif``, ``.tif``,
  ``.tiff``, ``.webp``) and hidden files are skipped.
* Every image is resized to ``image_size`` x ``image_size`` (bilinear; aspect ratio not kept)
  and converted to one colour mode for the whole folder: grayscale (1 channel) when every image
  is grayscale, else RGB (3 channels; alpha dropped). Pixels are scaled to [0, 1] and shaped
  ``(C, H, W)``; ``load`` standardises them per channel with training statistics.
* A file Pillow cannot read stops the load with a message naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from reglab._validate import check_int
from reglab.data.arrays import UserData, prepare
from reglab.errors import DataUnavailableError, invalid_argument

__all__ = ["IMAGE_SUFFIXES", "DEFAULT_IMAGE_SIZE", "read_image_folder", "is_image_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
DEFAULT_IMAGE_SIZE = 32
_SPLIT_DIRS = ("train", "val", "test")
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def _subdirs(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith("."))


def is_image_folder(path: Path) -> bool:
    """A directory (anything else in a directory is checked when it is read)."""
    return path.is_dir()


def _open(path: Path, size: int) -> tuple[Any, str]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            gray = mode in _GRAY_MODES
            converted = img.convert("L" if gray else "RGB").resize((size, size), Image.Resampling.BILINEAR)
            return converted, "L" if gray else "RGB"
    except UnidentifiedImageError:
        raise ValueError(invalid_argument("data", "image files Pillow can read", None,
                                          shown=f"{path} (not an image format Pillow recognises)")) from None
    except (OSError, ValueError) as exc:  # truncated or corrupt data in a recognised format
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(invalid_argument("data", "image files Pillow can read", None,
                                          shown=f"{path} ({reason})")) from None


def _read_classes(root: Path, classes: list[str], size: int) -> tuple[list[Any], list[str], np.ndarray]:
    images, modes, labels = [], [], []
    for name in classes:
        folder = root / name
        if not folder.is_dir():
            continue
        for file in _images(folder):
            img, mode = _open(file, size)
            images.append(img)
            modes.append(mode)
            labels.append(name)
    return images, modes, np.asarray(labels, dtype=str)


def _to_array(images: list[Any], rgb: bool) -> np.ndarray:
    arrays = [np.asarray(img.convert("RGB") if rgb else img, dtype=np.float32) / 255.0 for img in images]
    x = np.stack(arrays)
    return x.transpose(0, 3, 1, 2) if rgb else x[:, None]


def read_image_folder(path: Path, *, image_size: int = DEFAULT_IMAGE_SIZE, test_fraction: float = 0.2) -> UserData:
    """Read an image folder as user data (see the module docstring for the layout and rules).

    Args:
        path: the folder.
        image_size: side of the square every image is resized to, in [4, 1024]. Defaults to 32.
        test_fraction: held out as the fixed test set when there is no ``test/`` folder.
            Defaults to 0.2.

    Raises:
        ValueError: fewer than two class folders, a class folder without images, an image
            Pillow cannot read (the message names the file), a bad ``image_size``.
        reglab.errors.DataUnavailableError: Pillow is not installed.
    """
    check_int("image_size", image_size, low=4, high=1024)
    try:
        import PIL  # noqa: F401
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise DataUnavailableError(
            "Reading image folders needs Pillow, which is not installed. Install it with: pip install pillow"
        ) from None
    top = [p.name for p in _subdirs(path)]
    split_layout = "train" in top and set(top) <= set(_SPLIT_DIRS)
    roots = {s: path / s for s in _SPLIT_DIRS if s in top} if split_layout else {"train": path}
    classes = sorted({p.name for root in roots.values() for p in _subdirs(root)})
    train_classes = [p.name for p in _subdirs(roots["train"])]
    where = roots["train"]
    if len(train_classes) < 2:
        found = f"{len(train_classes)} class sub-folder" + ("" if len(train_classes) == 1 else "s")
        listed = f" ({', '.join(repr(c) for c in train_classes)})" if train_classes else ""
        raise ValueError(invalid_argument("data", "an image folder with one sub-folder per class, at least 2",
                                          None, shown=f"{where} has {found}{listed}"))
    parts: dict[str, np.ndarray] = {}
    read: dict[str, tuple[list[Any], list[str], np.ndarray]] = {}
    for split, root in roots.items():
        read[split] = _read_classes(root, classes, image_size)
    empty = [c for c in train_classes if not (read["train"][2] == c).any()]
    if empty:
        raise ValueError(invalid_argument("data", "image files (.png, .jpg, ...) in every class folder", None,
                                          shown=f"{where / empty[0]} holds no image"))
    rgb = any(m == "RGB" for _, modes, _ in read.values() for m in modes)
    for split, (images, _, labels) in read.items():
        if len(images):
            parts[f"x_{split}"] = _to_array(images, rgb)
            parts[f"y_{split}"] = labels
    counts = ", ".join(f"{split} {len(read[split][0])}" for split in read) if split_layout else str(len(read["train"][0]))
    notes = (
        f"read {counts} images of {len(classes)} classes from {path.name}"
        + (" (train/val/test folders)" if split_layout else "")
        + f", resized to {image_size}x{image_size}, {'RGB (3 channels)' if rgb else 'grayscale (1 channel)'}.",
    )
    return prepare(parts, task="classification", test_fraction=test_fraction, notes=notes,
                   task_reason="one sub-folder per class")

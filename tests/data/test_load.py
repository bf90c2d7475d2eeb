"""reglab.data.load: registry errors, determinism, and the overfitting regimes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reglab.data import DatasetInfo, Splits, available, load
from reglab.data.regimes import proportional_counts

KNOWN = (
    "'mnist1d', 'digits', 'breast_cancer', 'wine', 'diabetes', 'moons', 'circles', 'spirals', "
    "'xor', 'blobs', 'mnist5k', 'boston', 'mnist', 'fashion_mnist', 'cifar10'"
)


def test_available_lists_every_dataset_with_what_it_needs() -> None:
    rows = available()
    assert [r[0] for r in rows] == [n.strip("'") for n in KNOWN.split(", ")]
    needs = dict((r[0], r[2]) for r in rows)
    assert needs["mnist1d"] == "nothing"
    assert needs["mnist5k"] == "extra reglab[mnist5k]"
    assert needs["cifar10"] == "download (extra reglab[vision]) or --data-dir"


def test_unknown_dataset_lists_the_known_ones() -> None:
    with pytest.raises(ValueError) as exc:
        load("mnist2d")
    assert str(exc.value) == (
        f"Invalid value for argument `name`. Expected one of {KNOWN}, a name given to reglab.data.register, "
        "a path to a .npz, .csv or .parquet file or to an image folder, or an import string "
        "'package.module:loader'. Received: name='mnist2d'"
    )


def test_unknown_option_lists_the_dataset_options() -> None:
    with pytest.raises(ValueError) as exc:
        load("moons", noies=0.1)
    assert str(exc.value) == (
        "Invalid value for argument `noies`. Expected an option of dataset 'moons': 'n_samples', "
        "'noise', 'test_fraction', 'data_seed'. Received: noies=0.1"
    )
    with pytest.raises(ValueError) as exc:
        load("mnist1d", noise=0.1)
    assert str(exc.value) == (
        "Invalid value for argument `noise`. Expected no options for dataset 'mnist1d'. Received: noise=0.1"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"val_fraction": 1.0}, "Invalid value for argument `val_fraction`. Expected a number in [0, 1). Received: val_fraction=1.0"),
        ({"val_fraction": -0.1}, "Invalid value for argument `val_fraction`. Expected a number in [0, 1). Received: val_fraction=-0.1"),
        ({"label_noise": 1.0}, "Invalid value for argument `label_noise`. Expected a number in [0, 1). Received: label_noise=1.0"),
        ({"label_noise": -0.5}, "Invalid value for argument `label_noise`. Expected a number in [0, 1). Received: label_noise=-0.5"),
        ({"train_size": 0}, "Invalid value for argument `train_size`. Expected an integer >= 1. Received: train_size=0"),
        ({"train_size": 10.5}, "Invalid value for argument `train_size`. Expected an integer >= 1. Received: train_size=10.5"),
        ({"seed": -1}, "Invalid value for argument `seed`. Expected an integer >= 0. Received: seed=-1"),
        ({"per_class": 1}, "Invalid value for argument `per_class`. Expected True or False. Received: per_class=1"),
        ({"test_fraction": 0.0}, "Invalid value for argument `test_fraction`. Expected a number in (0, 1). Received: test_fraction=0.0"),
    ],
)
def test_bad_arguments_raise_the_standard_message(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        load("wine", **kwargs)
    assert str(exc.value) == message


def test_train_size_larger_than_available() -> None:
    # wine: 142 training samples, round(0.2 * 142) = 28 held out for validation -> 114 left.
    with pytest.raises(ValueError) as exc:
        load("wine", train_size=115)
    assert str(exc.value) == (
        "Invalid value for argument `train_size`. Expected an integer in [1, 114] ('wine' has 142 "
        "training samples, 28 of them held out for validation). Received: train_size=115"
    )
    assert load("wine", train_size=114).info.n_train == 114


def test_train_size_per_class_larger_than_smallest_class() -> None:
    # wine's smallest class (2) has 38 of the 142 pool samples; stratified validation takes 8.
    with pytest.raises(ValueError) as exc:
        load("wine", train_size=31, per_class=True)
    assert str(exc.value) == (
        "Invalid value for argument `train_size`. Expected an integer in [1, 30] with per_class=True "
        "(the smallest class of 'wine' has 30 training samples after the validation split). "
        "Received: train_size=31"
    )


def test_regression_refuses_label_noise_and_per_class() -> None:
    with pytest.raises(ValueError) as exc:
        load("diabetes", label_noise=0.1)
    assert str(exc.value) == (
        "Invalid value for argument `label_noise`. Expected 0.0 for the regression dataset "
        "'diabetes'. Received: label_noise=0.1"
    )
    with pytest.raises(ValueError) as exc:
        load("diabetes", train_size=10, per_class=True)
    assert str(exc.value) == (
        "Invalid value for argument `per_class`. Expected False for the regression dataset "
        "'diabetes'. Received: per_class=True"
    )


def _assert_same(a: Splits, b: Splits) -> None:
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "flipped"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert a.info == b.info


def test_same_seed_same_splits_other_seed_other_splits() -> None:
    kwargs = {"train_size": 300, "label_noise": 0.2}
    a, b = load("digits", seed=3, **kwargs), load("digits", seed=3, **kwargs)
    _assert_same(a, b)
    c = load("digits", seed=4, **kwargs)
    assert not torch.equal(a.y_train, c.y_train)
    assert not torch.equal(a.x_val, c.x_val)
    # the test set is fixed: only the training/validation side depends on the seed
    assert torch.equal(
        load("digits", seed=3, normalize=False).x_test, load("digits", seed=4, normalize=False).x_test
    )
    assert torch.equal(a.y_test, c.y_test)


def test_splits_partition_the_pool_and_keep_test_apart() -> None:
    full = load("moons", normalize=False, val_fraction=0.0)
    s = load("moons", normalize=False, val_fraction=0.25, seed=7)
    assert (s.info.n_train, s.info.n_val, s.info.n_test) == (600, 200, 200)
    pool = {tuple(r) for r in full.x_train.tolist()}
    train = {tuple(r) for r in s.x_train.tolist()}
    val = {tuple(r) for r in s.x_val.tolist()}
    test = {tuple(r) for r in s.x_test.tolist()}
    assert len(pool) == 800 and len(train) == 600 and len(val) == 200
    assert train | val == pool and not train & val and not pool & test


def _class_counts(y: torch.Tensor, k: int) -> np.ndarray:
    return np.bincount(y.numpy(), minlength=k)


def test_validation_and_train_size_are_stratified() -> None:
    pool = _class_counts(load("digits", val_fraction=0.0).y_train, 10)
    s = load("digits", seed=1, train_size=200)
    val = _class_counts(s.y_val, 10)
    train = _class_counts(s.y_train, 10)
    assert val.sum() == round(0.2 * 1438) == 288
    assert np.all(np.abs(val - 288 * pool / pool.sum()) < 1)
    rest = pool - val
    assert train.sum() == 200
    assert np.all(np.abs(train - 200 * rest / rest.sum()) < 1)


def test_train_size_per_class_takes_exactly_n_of_each_class() -> None:
    s = load("mnist1d", train_size=7, per_class=True, seed=2)
    assert _class_counts(s.y_train, 10).tolist() == [7] * 10
    assert s.info.n_train == 70 and s.info.per_class and s.info.train_size == 7


def test_proportional_counts_largest_remainder() -> None:
    assert proportional_counts(np.array([5, 3, 2]), 5).tolist() == [3, 1, 1]
    assert proportional_counts(np.array([1, 1, 1]), 2).tolist() == [1, 1, 0]  # ties: lower index
    assert proportional_counts(np.array([10, 0, 30]), 4).tolist() == [1, 0, 3]


@pytest.mark.parametrize(("train_size", "noise", "expected"), [(None, 0.3, 345), (25, 0.1, 3), (200, 0.0, 0)])
def test_label_noise_flips_an_exact_count(train_size: int | None, noise: float, expected: int) -> None:
    # digits: 1150 training samples; 0.3 * 1150 = 345; 0.1 * 25 = 2.5 rounds half up to 3.
    s = load("digits", seed=5, train_size=train_size, label_noise=noise)
    changed = s.y_train != s.y_train_clean
    assert s.info.n_flipped == expected == int(changed.sum())
    assert torch.equal(changed, s.flipped)
    assert s.info.label_noise == noise


def test_label_noise_only_touches_training_labels() -> None:
    clean = load("digits", seed=9)
    noisy = load("digits", seed=9, label_noise=0.4)
    assert torch.equal(clean.y_val, noisy.y_val) and torch.equal(clean.y_test, noisy.y_test)
    assert torch.equal(clean.y_train, noisy.y_train_clean)
    assert torch.equal(clean.x_train, noisy.x_train)


def test_flipped_labels_are_uniform_over_the_other_classes() -> None:
    # 0.6 * 1150 = 690 flips; the shift (new - old) mod 10 is uniform on 1..9 under H0.
    s = load("digits", seed=11, label_noise=0.6)
    shift = ((s.y_train - s.y_train_clean) % 10)[s.flipped].numpy()
    assert len(shift) == 690 and shift.min() >= 1
    counts = np.bincount(shift, minlength=10)[1:]
    expected = 690 / 9
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 26.12  # chi-square, 8 degrees of freedom, 0.999 quantile


def test_normalisation_uses_training_statistics_only() -> None:
    raw = load("breast_cancer", seed=2, normalize=False)
    s = load("breast_cancer", seed=2)
    mean = raw.x_train.double().mean(0)
    std = raw.x_train.double().std(0, unbiased=False)
    assert torch.allclose(torch.tensor(s.info.mean, dtype=torch.float64), mean, rtol=1e-6)
    assert torch.allclose(torch.tensor(s.info.std, dtype=torch.float64), std, rtol=1e-5)
    for split in ("x_train", "x_val", "x_test"):
        expected = ((getattr(raw, split).double() - mean) / std).float()
        assert torch.allclose(getattr(s, split), expected, atol=1e-5), split
    assert torch.allclose(s.x_train.mean(0), torch.zeros(30), atol=1e-5)
    assert s.info.normalization == "feature"


def test_images_are_normalised_per_channel() -> None:
    s = load("digits")
    assert s.info.normalization == "channel" and len(s.info.mean) == 1
    assert abs(float(s.x_train.mean())) < 1e-5 and abs(float(s.x_train.std(unbiased=False)) - 1) < 1e-4


def test_real_mnist1d_shapes_counts_and_values() -> None:
    s = load("mnist1d", val_fraction=0.0)
    assert s.x_train.shape == (4000, 40) and s.x_test.shape == (1000, 40)
    assert s.x_train.dtype == torch.float32 and s.y_train.dtype == torch.int64
    assert (s.info.input_shape, s.info.num_classes, s.info.task) == ((40,), 10, "classification")
    assert (s.info.n_train, s.info.n_val, s.info.n_test) == (4000, 0, 1000)
    assert s.x_val.shape == (0, 40)
    # pinned against mnist1d.data.make_dataset(get_dataset_args()) (the authors' frozen data)
    assert s.y_train[:12].tolist() == [2, 6, 4, 5, 6, 6, 6, 0, 3, 1, 6, 9]
    assert np.bincount(s.y_test.numpy()).tolist() == [102, 104, 89, 106, 106, 98, 99, 96, 98, 102]
    assert s.info.normalization == "global"
    assert abs(float(s.x_train.mean())) < 1e-5
    default = load("mnist1d")
    assert (default.info.n_train, default.info.n_val) == (3200, 800)


def test_regression_targets_are_float32() -> None:
    s = load("diabetes")
    assert s.y_train.dtype == torch.float32 and s.info.num_classes == 1
    assert (s.info.n_train, s.info.n_val, s.info.n_test) == (283, 71, 88)
    assert float(s.y_train.min()) >= 25 and float(s.y_train.max()) <= 346
    assert s.info.class_names == ()


def test_info_round_trips_to_plain_values() -> None:
    info = load("wine", seed=1, train_size=50, label_noise=0.1).info
    d = info.to_dict()
    assert d["input_shape"] == [13] and d["n_flipped"] == 5 and d["train_size"] == 50
    assert DatasetInfo(**{**d, "input_shape": tuple(d["input_shape"]), "mean": tuple(d["mean"]),
                          "std": tuple(d["std"]), "class_names": tuple(d["class_names"]),
                          "notes": tuple(d["notes"])}) == info


def test_registry_metadata_matches_what_loads() -> None:
    from reglab.data import sources

    for src in sources():
        if src.needs != "nothing":
            continue
        s = load(src.name, val_fraction=0.0)
        assert s.info.input_shape == src.input_shape, src.name
        assert s.info.num_classes == src.num_classes, src.name
        assert src.size == f"{s.info.n_train} / {s.info.n_test}", src.name
        assert s.info.task == src.task


def test_val_fraction_that_leaves_no_training_sample() -> None:
    with pytest.raises(ValueError) as exc:
        load("xor", n_samples=10, val_fraction=0.95)  # 8 in the pool, round(7.6) = 8 held out
    assert str(exc.value) == (
        "Invalid value for argument `val_fraction`. Expected a fraction that leaves training samples "
        "('xor' has 8 in its training pool). Received: val_fraction=0.95"
    )

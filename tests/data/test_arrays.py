"""User arrays: checks, task detection, label remapping, carved splits, regimes (``reglab.data.arrays``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from reglab.data import from_arrays
from reglab.data.arrays import prepare


def _blobs(n_per_class=(60, 30, 10), d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(loc=3 * k, size=(n, d)) for k, n in enumerate(n_per_class)]).astype(np.float32)
    y = np.concatenate([np.full(n, k) for k, n in enumerate(n_per_class)])
    return x, y


def test_classification_is_detected_and_labels_remapped_with_names():
    x, y = _blobs()
    labels = np.array([10, 20, 30])[y]  # original labels 10, 20, 30
    s = from_arrays(x, labels, seed=0)
    assert s.info.task == "classification"
    assert s.info.num_classes == 3 and s.info.class_names == ("10", "20", "30")
    assert s.y_train.dtype == torch.int64 and set(s.y_train.tolist()) == {0, 1, 2}
    assert s.info.notes[:2] == (
        "task: classification, detected from the integer-valued labels (task='regression' overrides).",
        "labels: 3 classes remapped to 0..2 in sorted order (10->0, 20->1, 30->2).",
    )


def test_text_labels_and_integer_valued_floats_are_classes():
    x, y = _blobs()
    s = from_arrays(x, np.array(["cat", "dog", "emu"])[y])
    assert s.info.class_names == ("cat", "dog", "emu")
    s = from_arrays(x, y.astype(np.float64))
    assert s.info.task == "classification" and s.info.class_names == ("0", "1", "2")
    assert "remapped" not in " ".join(s.info.notes)  # already 0..K-1


def test_regression_is_detected_and_forced():
    x, _ = _blobs()
    target = x[:, 0] * 2.5 + 0.1
    s = from_arrays(x, target)
    assert s.info.task == "regression" and s.info.num_classes == 1 and s.info.class_names == ()
    assert s.y_train.dtype == torch.float32
    assert s.info.notes[0] == ("task: regression, detected from non-integer targets "
                               "(task='classification' overrides).")
    _, y = _blobs()
    forced = from_arrays(x, y, task="regression")
    assert forced.info.task == "regression" and forced.info.notes[0] == "task: regression (given)."
    assert sorted(set(forced.y_train.tolist())) == [0.0, 1.0, 2.0]


def test_missing_test_split_is_carved_stratified_and_fixed():
    x, y = _blobs((60, 30, 10))
    a = from_arrays(x, y, seed=0)
    b = from_arrays(x, y, seed=5)
    # 20 of 100 held out: 12 / 6 / 2 per class (proportions kept exactly), the same for every seed
    assert torch.bincount(a.y_test).tolist() == [12, 6, 2]
    assert torch.equal(a.y_test, b.y_test)
    raw_a, raw_b = from_arrays(x, y, seed=0, normalize=False), from_arrays(x, y, seed=5, normalize=False)
    assert torch.equal(raw_a.x_test, raw_b.x_test)
    # validation 0.2 of the 80 left (48 / 24 / 8): 16, each class within one of 9.6 / 4.8 / 1.6
    assert torch.bincount(a.y_val).tolist() == [9, 5, 2]
    assert (a.info.n_train, a.info.n_val, a.info.n_test) == (64, 16, 20)
    assert a.info.notes[-2:] == (
        "test: no test split given; 20 of 100 training samples (0.2) held out as a fixed test set, stratified "
        "by class (seed 20141, the same for every run seed).",
        "validation: 16 of the 80 training samples (0.2), stratified by class, drawn with data seed 0.",
    )


def test_regression_test_split_is_random_and_given_splits_are_kept():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 2))
    y = x[:, 0] + 0.5 * rng.normal(size=50)
    s = from_arrays(x, y, val_fraction=0.1)
    assert (s.info.n_train, s.info.n_val, s.info.n_test) == (36, 4, 10)
    assert "held out as a fixed test set, at random" in s.info.notes[1]
    given = from_arrays(x[:30], y[:30], x[30:40], y[30:40], x[40:], y[40:], normalize=False)
    assert (given.info.n_train, given.info.n_val, given.info.n_test) == (30, 10, 10)
    assert torch.allclose(given.x_val, torch.as_tensor(x[30:40], dtype=torch.float32))
    assert given.info.notes[-1] == "validation: the data's own validation split, 10 samples (val_fraction not used)."


def test_regimes_apply_as_to_built_in_sets():
    x, y = _blobs((100, 100, 100))
    s = from_arrays(x, y, seed=3, train_size=30, label_noise=0.2)
    assert s.info.n_train == 30 and torch.bincount(s.y_train_clean).tolist() == [10, 10, 10]
    assert s.info.n_flipped == 6 and int(s.flipped.sum()) == 6
    assert bool((s.y_train[s.flipped] != s.y_train_clean[s.flipped]).all())
    # normalisation from the training split only: mean 0, std 1 there, per feature
    assert torch.allclose(s.x_train.double().mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(s.x_train.double().std(0, unbiased=False), torch.ones(3, dtype=torch.float64), atol=1e-4)
    p = from_arrays(x, y, seed=3, train_size=7, per_class=True)
    assert torch.bincount(p.y_train).tolist() == [7, 7, 7]
    assert p.info.notes[-1] == ("training: train_size=7 per class, 21 of the 192 samples left after validation, "
                                "drawn with data seed 3.")


def test_images_are_normalised_per_channel():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(40, 3, 4, 4)).astype(np.float32) * np.array([1, 5, 10], dtype=np.float32)[None, :, None, None]
    y = np.arange(40) % 2
    s = from_arrays(x, y)
    assert s.info.input_shape == (3, 4, 4) and s.info.normalization == "channel" and len(s.info.mean) == 3
    assert torch.allclose(s.x_train.double().mean((0, 2, 3)), torch.zeros(3, dtype=torch.float64), atol=1e-5)


def test_tensors_and_class_names_are_accepted():
    x, y = _blobs()
    s = from_arrays(torch.as_tensor(x), torch.as_tensor(y), class_names=["a", "b", "c"], name="mine")
    assert s.info.name == "mine" and s.info.class_names == ("a", "b", "c")


@pytest.mark.parametrize(
    ("parts", "kwargs", "message"),
    [
        ({"x_train": np.zeros((5, 2)), "y_train": np.zeros(4)}, {},
         "Invalid value for argument `y_train`. Expected one label per row of x_train (5 rows). "
         "Received: len(y_train)=4"),
        ({"x_train": np.zeros((5, 2)), "y_train": np.arange(5), "x_test": np.zeros((2, 2))}, {},
         "Invalid value for argument `y_test`. Expected an array beside x_test. Received: x_test given without y_test"),
        ({"x_train": np.zeros((5, 2)), "y_train": np.arange(5), "x_val": np.zeros((2, 3)), "y_val": np.arange(2)}, {},
         "Invalid value for argument `x_val`. Expected samples of x_train's shape (2,). Received: x_val.shape=(2, 3)"),
        ({"x_train": np.array([[0.0, np.nan], [1.0, 2.0], [np.inf, 1.0]]), "y_train": np.arange(3)}, {},
         "Invalid value for argument `x_train`. Expected finite feature values (no NaN or inf). "
         "Received: x_train holds 1 NaN and 1 inf values, the first in row 0"),
        ({"x_train": np.array([["a"], ["b"]]), "y_train": np.arange(2)}, {},
         "Invalid value for argument `x_train`. Expected numeric features. Received: x_train.dtype=<U1 (shape (2, 1))"),
        ({"x_train": np.zeros((4, 2)), "y_train": np.array([0.0, 1.5, 1.0, 0.0])}, {"task": "classification"},
         "Invalid value for argument `y_train`. Expected integer class labels for task='classification'. "
         "Received: y_train holds non-integer values such as 1.5"),
        ({"x_train": np.zeros((4, 2)), "y_train": np.array([0, 1, 3, 1])}, {"class_names": ("a", "b", "c")},
         "Invalid value for argument `y_train`. Expected integer class labels in [0, 2] (3 class names). "
         "Received: y_train holds labels from 0 to 3"),
        ({"x_train": np.zeros((4, 2)), "y_train": np.array([-1, 1, 0, 1])}, {"class_names": ("a", "b")},
         "Invalid value for argument `y_train`. Expected integer class labels in [0, 1] (2 class names). "
         "Received: y_train holds labels from -1 to 1"),
        ({"x_train": np.zeros((4, 2)), "y_train": np.array(["a", "b", "a", "b"])}, {"task": "regression"},
         "Invalid value for argument `y_train`. Expected numeric targets for task='regression'. "
         "Received: y_train.dtype=<U1"),
        ({"x_train": np.zeros((4, 2)), "y_train": np.array([2, 2, 2, 2]), "x_test": np.zeros((1, 2)),
          "y_test": np.array([1])}, {},
         "Invalid value for argument `y_train`. Expected labels of at least 2 classes. "
         "Received: y_train has only the class '2'"),
        ({"x_train": np.zeros((4, 2)), "y_train": np.arange(4)}, {"task": "ordinal"},
         "Invalid value for argument `task`. Expected one of 'classification', 'regression'. Received: task='ordinal'"),
        ({"x_train": np.zeros((4, 2)), "y_train": np.array([0.5, np.nan, 1.0, 2.0])}, {},
         "Invalid value for argument `y_train`. Expected finite labels (no NaN or inf). "
         "Received: y_train holds 1 NaN or inf values"),
    ],
)
def test_bad_arrays_are_refused_with_one_message(parts, kwargs, message):
    with pytest.raises(ValueError) as exc:
        prepare(parts, **kwargs)
    assert str(exc.value) == message


def test_test_fraction_must_leave_both_splits():
    with pytest.raises(ValueError) as exc:
        prepare({"x_train": np.zeros((3, 1)), "y_train": np.array([0.1, 0.2, 0.3])}, test_fraction=0.1)
    assert str(exc.value) == ("Invalid value for argument `test_fraction`. Expected a fraction that leaves test "
                              "and training samples (the data has 3 rows). Received: test_fraction=0.1")

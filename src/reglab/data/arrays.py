"""User data as reglab reads it: checked arrays, a detected task, labels 0..K-1, a fixed test split.

Every way of bringing one's own data (``.npz``, CSV/Parquet, an image folder, a
``module:loader``, :func:`from_arrays`, :func:`reglab.data.register`) ends in :func:`prepare`,
so the same checks and the same rules apply to all of them:

* ``x_<split>`` and ``y_<split>`` have one label per row; features are numeric and finite.
* The task: ``task="classification"`` or ``"regression"`` when given; otherwise detected from the
  labels: integers, booleans, strings or integer-valued floats are classes, any other float
  target is a regression target.
* Classification labels are remapped to ``0..K-1`` in sorted order of the original values, whose
  text becomes the class names (``class_names`` given: the labels must already be ``0..K-1``).
* No test split: a fixed ``test_fraction`` (default 0.2) of the training rows is held out,
  stratified by class (random for regression), with the seed every built-in set uses, so the
  test set does not change with the run's seed.

What was detected, remapped or held out is written as sentences into ``RawData.notes`` (then
``DatasetInfo.notes``), which ``reglab datasets --inspect`` and the report show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from reglab._validate import check_choice, check_range
from reglab.data.regimes import random_take, round_half_up, stratified_take
from reglab.data.source import HOLDOUT_SEED, RawData
from reglab.errors import invalid_argument

__all__ = ["TASKS", "UserData", "prepare", "to_numpy", "from_arrays", "SPLIT_NAMES"]

TASKS = ("classification", "regression")
SPLIT_NAMES = ("train", "val", "test")


@dataclass(frozen=True)
class UserData:
    """User data after :func:`prepare`: the raw splits reglab's regimes start from, and the task."""

    raw: RawData
    task: str


def to_numpy(value: Any) -> np.ndarray:
    """An array from a NumPy array, a torch tensor, a list or a scalar sequence."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _check_features(name: str, x: np.ndarray) -> np.ndarray:
    if x.dtype.kind not in "biuf":
        raise ValueError(invalid_argument(name, "numeric features", None,
                                          shown=f"{name}.dtype={x.dtype} (shape {x.shape})"))
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.dtype.kind == "f":
        bad = ~np.isfinite(x.reshape(len(x), -1))
        if bad.any():
            n_nan = int(np.isnan(x).sum())
            n_inf = int(bad.sum()) - n_nan
            row = int(np.flatnonzero(bad.any(axis=1))[0])
            raise ValueError(invalid_argument(
                name, "finite feature values (no NaN or inf)", None,
                shown=f"{name} holds {n_nan} NaN and {n_inf} inf values, the first in row {row}"))
    return x


def _pairs(parts: dict[str, Any]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The given splits as checked ``(x, y)`` pairs, in train / val / test order."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for split in SPLIT_NAMES:
        x, y = parts.get(f"x_{split}"), parts.get(f"y_{split}")
        if x is None and y is None:
            if split == "train":
                raise ValueError(invalid_argument("x_train", "training inputs and labels (x_train, y_train)", None))
            continue
        if x is None or y is None:
            given, missing = (f"x_{split}", f"y_{split}") if y is None else (f"y_{split}", f"x_{split}")
            raise ValueError(invalid_argument(missing, f"an array beside {given}", None,
                                              shown=f"{given} given without {missing}"))
        xa, ya = to_numpy(x), to_numpy(y)
        if ya.ndim == 2 and ya.shape[1] == 1:
            ya = ya[:, 0]
        if ya.ndim != 1:
            raise ValueError(invalid_argument(f"y_{split}", "one label per sample (a 1-D array)", None,
                                              shown=f"y_{split}.shape={ya.shape}"))
        if xa.ndim == 0 or len(xa) != len(ya):
            n = len(xa) if xa.ndim else 0
            raise ValueError(invalid_argument(
                f"y_{split}", f"one label per row of x_{split} ({_count(n, 'row')})", None,
                shown=f"len(y_{split})={len(ya)}"))
        xa = _check_features(f"x_{split}", xa)
        if split != "train" and xa.shape[1:] != out["train"][0].shape[1:]:
            raise ValueError(invalid_argument(
                f"x_{split}", f"samples of x_train's shape {tuple(out['train'][0].shape[1:])}", None,
                shown=f"x_{split}.shape={tuple(xa.shape)}"))
        out[split] = (xa, ya)
    if len(out["train"][0]) < 2:
        raise ValueError(invalid_argument("x_train", "at least 2 training samples", None,
                                          shown=f"len(x_train)={len(out['train'][0])}"))
    return out


def _is_integral(y: np.ndarray) -> bool:
    return y.dtype.kind in "biu" or (y.dtype.kind == "f" and bool(np.all(np.floor(y) == y)))


def _detect_task(ys: dict[str, np.ndarray], task: str | None, reason: str = "given") -> tuple[str, str]:
    """``(task, how)``: the given or detected task and a sentence on how it was decided."""
    kinds = {y.dtype.kind for y in ys.values()}
    textual = bool(kinds & set("USO"))
    for split, y in ys.items():
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError(invalid_argument(f"y_{split}", "finite labels (no NaN or inf)", None,
                                              shown=f"y_{split} holds {int((~np.isfinite(y)).sum())} "
                                                    "NaN or inf values"))
        if not textual and y.dtype.kind not in "biuf":
            raise ValueError(invalid_argument(f"y_{split}", "numeric or text labels", None,
                                              shown=f"y_{split}.dtype={y.dtype}"))
    if task is not None:
        check_choice("task", task, TASKS)
        if task == "classification":
            for split, y in ys.items():
                if not textual and not _is_integral(y):
                    example = y[np.flatnonzero(np.floor(y) != y)[0]]
                    raise ValueError(invalid_argument(
                        f"y_{split}", "integer class labels for task='classification'", None,
                        shown=f"y_{split} holds non-integer values such as {float(example)!r}"))
        elif textual:
            split = next(s for s, y in ys.items() if y.dtype.kind in "USO")
            raise ValueError(invalid_argument(f"y_{split}", "numeric targets for task='regression'", None,
                                              shown=f"y_{split}.dtype={ys[split].dtype}"))
        return task, f"task: {task} ({reason})."
    if textual or all(_is_integral(y) for y in ys.values()):
        why = "text labels" if textual else "integer-valued labels"
        return "classification", f"task: classification, detected from the {why} (task='regression' overrides)."
    return "regression", "task: regression, detected from non-integer targets (task='classification' overrides)."


def _class_label(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _encode_classes(
    ys: dict[str, np.ndarray], class_names: tuple[str, ...] | None
) -> tuple[dict[str, np.ndarray], tuple[str, ...], str | None]:
    """Labels as int64 ``0..K-1``, the class names, and a note when labels were remapped."""
    if class_names is not None:
        k = len(class_names)
        for split, y in ys.items():
            if not _is_integral(y) or y.dtype.kind in "USO" or (len(y) and (y.min() < 0 or y.max() >= k)):
                lo, hi = (y.min().item(), y.max().item()) if y.dtype.kind in "biuf" and len(y) else (None, None)
                raise ValueError(invalid_argument(
                    f"y_{split}", f"integer class labels in [0, {k - 1}] ({_count(k, 'class name')})", None,
                    shown=f"y_{split} holds labels from {lo!r} to {hi!r}"))
        return {s: y.astype(np.int64) for s, y in ys.items()}, tuple(class_names), None
    textual = any(y.dtype.kind in "USO" for y in ys.values())
    values = {s: (y.astype(str) if textual else y) for s, y in ys.items()}
    classes = np.unique(np.concatenate(list(values.values())))
    encoded = {s: np.searchsorted(classes, v).astype(np.int64) for s, v in values.items()}
    names = tuple(_class_label(c) for c in classes)
    remapped = textual or not np.array_equal(classes, np.arange(len(classes)))
    note = None
    if remapped:
        shown = ", ".join(f"{n}->{i}" for i, n in enumerate(names[:8])) + (", ..." if len(names) > 8 else "")
        note = f"labels: {len(names)} classes remapped to 0..{len(names) - 1} in sorted order ({shown})."
    return encoded, names, note


def _hold_out_test(
    x: np.ndarray, y: np.ndarray, test_fraction: float, stratify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    n = len(y)
    n_test = round_half_up(test_fraction * n)
    if n_test < 1 or n_test >= n:
        raise ValueError(invalid_argument(
            "test_fraction", f"a fraction that leaves test and training samples (the data has {_count(n, 'row')})",
            test_fraction))
    rng = np.random.default_rng(HOLDOUT_SEED)
    if stratify:
        test, train = stratified_take(y, n_test, rng)
        how = "stratified by class"
    else:
        test, train = random_take(n, n_test, rng)
        how = "at random"
    note = (f"test: no test split given; {n_test} of {n} training samples ({test_fraction:g}) held out as a fixed "
            f"test set, {how} (seed {HOLDOUT_SEED}, the same for every run seed).")
    return x[train], y[train], x[test], y[test], note


def prepare(
    parts: dict[str, Any],
    *,
    task: str | None = None,
    test_fraction: float = 0.2,
    class_names: tuple[str, ...] | list[str] | None = None,
    normalization: str | None = None,
    notes: tuple[str, ...] = (),
    task_reason: str = "given",
) -> UserData:
    """Check user arrays and turn them into the raw splits ``reglab.data.load`` starts from.

    Args:
        parts: ``x_train``, ``y_train`` and optionally ``x_val``/``y_val``, ``x_test``/``y_test``
            (NumPy arrays, torch tensors or lists; inputs shaped ``(N, ...)``, labels ``(N,)``).
        task: ``"classification"``, ``"regression"`` or None (detect from the labels).
            Defaults to None.
        test_fraction: fraction of the training rows held out as the fixed test set when no
            test split is given, in (0, 1). Defaults to 0.2.
        class_names: a name per class; the labels must then be integers in ``[0, K-1]``.
            Defaults to None (labels remapped, names from the label values).
        normalization: ``"feature"``, ``"channel"``, ``"global"`` or ``"none"``. Defaults to
            None: per feature for ``(N, d)`` inputs, per channel for ``(N, C, ...)`` inputs.
        notes: sentences on how the data was read, kept before the ones added here.
        task_reason: why ``task`` is what it is, for the note. Defaults to ``"given"``.

    Raises:
        ValueError: in the one message format, naming the array: a split without its labels,
            labels that do not match the rows, non-numeric, NaN or inf features, labels that
            are not integers (forced classification) or out of range of ``class_names``, a
            training set with one class.
    """
    check_range("test_fraction", test_fraction, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    if normalization is not None:
        check_choice("normalization", normalization, ("feature", "channel", "global", "none"))
    pairs = _pairs(parts)
    ys = {s: y for s, (_, y) in pairs.items()}
    task, how = _detect_task(ys, task, task_reason)
    notes = tuple(notes) + (how,)
    if task == "classification":
        ys, names, remap_note = _encode_classes(ys, tuple(class_names) if class_names is not None else None)
        if remap_note:
            notes += (remap_note,)
        n_rows = sum(len(y) for y in ys.values())
        if len(names) > max(20, n_rows // 2):
            notes += (f"labels: {len(names)} classes for {n_rows} samples; if the target is a quantity, "
                      "pass task='regression'.",)
        present = np.unique(ys["train"])
        if len(present) < 2:
            raise ValueError(invalid_argument("y_train", "labels of at least 2 classes", None,
                                              shown=f"y_train has only the class {names[int(present[0])]!r}"))
        for split, y in ys.items():  # a class no training example has cannot be learned
            unseen = np.setdiff1d(np.unique(y), present) if split != "train" and class_names is None else []
            if len(unseen):
                shown = ", ".join(names[int(c)] for c in unseen[:5]) + (", ..." if len(unseen) > 5 else "")
                raise ValueError(invalid_argument(
                    f"y_{split}", "labels that occur in y_train (the classes the model learns)", None,
                    shown=f"y_{split} holds {_count(len(unseen), 'label')} y_train lacks: {shown}"))
    else:
        ys = {s: y.astype(np.float32) for s, y in ys.items()}
        names = ()
    xs = {s: x for s, (x, _) in pairs.items()}
    if "test" not in pairs:
        xs["train"], ys["train"], xs["test"], ys["test"], note = _hold_out_test(
            xs["train"], ys["train"], test_fraction, stratify=task == "classification")
        notes += (note,)
    if normalization is None:
        normalization = "feature" if xs["train"].ndim == 2 else "channel"
    raw = RawData(
        xs["train"], ys["train"], xs["test"], ys["test"], normalization, names,
        x_val=xs.get("val"), y_val=ys.get("val"), notes=notes,
    )
    return UserData(raw, task)


def from_arrays(
    x_train: Any,
    y_train: Any,
    x_val: Any = None,
    y_val: Any = None,
    x_test: Any = None,
    y_test: Any = None,
    *,
    task: str | None = None,
    class_names: tuple[str, ...] | list[str] | None = None,
    name: str = "arrays",
    **load_options: Any,
) -> Any:
    """In-memory arrays or tensors as :class:`~reglab.data.Splits`, through the same regimes as
    ``reglab.data.load`` (validation carved out, ``train_size``, ``label_noise``, normalisation).

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(100, 4)); y = (x[:, 0] > 0).astype(int)
    >>> s = from_arrays(x, y, seed=0)
    >>> (s.info.task, s.info.num_classes, s.info.n_train, s.info.n_val, s.info.n_test)
    ('classification', 2, 64, 16, 20)

    Args:
        x_train, y_train: training inputs ``(N, ...)`` and labels ``(N,)``.
        x_val, y_val, x_test, y_test: optional splits; missing ones are carved out (see
            :func:`prepare` and ``reglab.data.load``). Default to None.
        task: ``"classification"``, ``"regression"`` or None (detected). Defaults to None.
        class_names: a name per class (labels then must be ``0..K-1``). Defaults to None.
        name: the name recorded in ``DatasetInfo.name``. Defaults to ``"arrays"``.
        **load_options: ``seed``, ``train_size``, ``label_noise``, ``val_fraction``,
            ``per_class``, ``normalize``, ``test_fraction`` as in ``reglab.data.load``.
    """
    from reglab.data.load import load_raw

    test_fraction = load_options.pop("test_fraction", 0.2)
    parts = {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val,
             "x_test": x_test, "y_test": y_test}
    user = prepare(parts, task=task, test_fraction=test_fraction, class_names=class_names)
    return load_raw(user.raw, name=name, task=user.task, description="in-memory arrays", **load_options)

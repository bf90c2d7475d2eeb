"""``load``: a registered dataset as train / validation / test tensors in an overfitting regime."""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from reglab._validate import check_int, check_probability, format_choices
from reglab.data.regimes import (
    flip_labels,
    normalization_stats,
    per_class_take,
    random_take,
    round_half_up,
    stratified_take,
)
from reglab.data.registry import DATASETS
from reglab.data.source import RawData, Source
from reglab.data.splits import DatasetInfo, Splits
from reglab.errors import invalid_argument

__all__ = ["load"]


def _check_options(source: Source, options: dict[str, Any]) -> None:
    params = inspect.signature(source.fetch).parameters
    known = [p.name for p in params.values() if p.kind is p.KEYWORD_ONLY]
    for key, value in options.items():
        if key not in known:
            expected = (
                f"an option of dataset {source.name!r}: {format_choices(known)}"
                if known
                else f"no options for dataset {source.name!r}"
            )
            raise ValueError(invalid_argument(key, expected, value))


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(invalid_argument(name, "True or False", value))
    return value


def _check_regime(seed: Any, train_size: Any, label_noise: Any, val_fraction: Any, per_class: Any,
                  normalize: Any) -> None:
    check_int("seed", seed, low=0)
    check_probability("val_fraction", val_fraction, allow_one=False)
    check_probability("label_noise", label_noise, allow_one=False)
    if train_size is not None:
        check_int("train_size", train_size, low=1)
    _check_bool("per_class", per_class)
    _check_bool("normalize", normalize)


def load(
    name: str | os.PathLike[str],
    *,
    seed: int = 0,
    train_size: int | None = None,
    label_noise: float = 0.0,
    val_fraction: float = 0.2,
    data_dir: str | Path | None = None,
    per_class: bool = False,
    normalize: bool = True,
    **options: Any,
) -> Splits:
    """Load dataset ``name`` as train / validation / test tensors, the same for the same ``seed``.

    The steps, each drawing from its own stream of ``numpy.random.default_rng([seed, step])``:

    1. the source's training pool and test set (fixed: the test set never depends on ``seed``);
    2. validation: ``round(val_fraction * pool)`` samples, stratified by class, held out first,
       so its size does not depend on ``train_size``;
    3. ``train_size``: a stratified subset of what is left (class proportions kept to within one
       sample), or ``train_size`` samples of every class with ``per_class=True``;
    4. ``label_noise``: exactly ``round(label_noise * n_train)`` training labels flipped, each to a
       uniformly drawn other class (symmetric noise; validation and test stay clean);
       ``Splits.flipped`` marks them and ``info.n_flipped`` counts them;
    5. normalisation with statistics of the final training split only (per channel for images,
       per feature for tabular and 2-D sets, one scalar for MNIST-1D); ``normalize=False`` skips it.

    Regimes for overfitting studies follow Zhang et al. 2017 ("Understanding deep learning requires
    rethinking generalization", arXiv:1611.03530) for label noise.

    Args:
        name: a built-in dataset (``reglab.data.available()``), a name given to
            :func:`reglab.data.register`, a path to a ``.npz``, ``.csv`` or ``.parquet`` file or
            an image folder, or an import string ``"package.module:loader"`` (see
            :mod:`reglab.data.user` for what each reads and ``options`` for their options).
        seed: seed of the validation split, the subset and the label noise. Defaults to 0.
        train_size: training samples to keep (None: all that remain). Defaults to None.
        label_noise: fraction of training labels to flip, in [0, 1). Defaults to 0.0.
        val_fraction: fraction of the training pool held out for validation, in [0, 1).
            Defaults to 0.2.
        data_dir: where downloaded datasets' files are (MNIST, Fashion-MNIST, CIFAR-10).
            Defaults to None (``$REGLAB_DATA_DIR`` or ``~/.cache/reglab/data``).
        per_class: count ``train_size`` per class. Defaults to False.
        normalize: standardise inputs with training statistics. Defaults to True.
        **options: dataset options (``noise``, ``n_samples``, ``test_fraction`` ...).

    Raises:
        ValueError: an unknown name or option, or a value out of range (the message lists the
            known names / the allowed range).
        reglab.errors.DataUnavailableError: a missing optional extra or missing files (the
            message says what to install or where to put which files).
    """
    _check_regime(seed, train_size, label_noise, val_fraction, per_class, normalize)
    regime: dict[str, Any] = dict(seed=seed, train_size=train_size, label_noise=label_noise, val_fraction=val_fraction,
                  per_class=per_class, normalize=normalize)
    if isinstance(name, str) and name in DATASETS:
        source = DATASETS[name]
        _check_options(source, options)
        _check_task_regime(name, source.task, label_noise, per_class)
        raw = source.fetch(Path(data_dir) if data_dir is not None else None, **options)
        return load_raw(raw, name=source.name, task=source.task, description=source.description,
                        options=options, **regime)
    from reglab.data.user import read_user_data

    user, label, description = read_user_data(name, **options)
    return load_raw(user.raw, name=label, task=user.task, description=description, options=options, **regime)


def _check_task_regime(name: str, task: str, label_noise: float, per_class: bool) -> None:
    if label_noise > 0 and task != "classification":
        raise ValueError(
            invalid_argument("label_noise", f"0.0 for the {task} dataset {name!r}", label_noise)
        )
    if per_class and task != "classification":
        raise ValueError(invalid_argument("per_class", f"False for the {task} dataset {name!r}", per_class))


def load_raw(
    raw: RawData,
    *,
    name: str,
    task: str,
    description: str = "",
    options: dict[str, Any] | None = None,
    seed: int = 0,
    train_size: int | None = None,
    label_noise: float = 0.0,
    val_fraction: float = 0.2,
    per_class: bool = False,
    normalize: bool = True,
) -> Splits:
    """Steps 2-5 of :func:`load` on data already read (a registered source or the user's data).

    A validation split the data brings (``raw.x_val``) is used as it is, instead of one carved
    out of the training pool (``val_fraction`` is then not used). The steps taken are added to
    ``DatasetInfo.notes``.
    """
    _check_regime(seed, train_size, label_noise, val_fraction, per_class, normalize)
    _check_task_regime(name, task, label_noise, per_class)
    classify = task == "classification"
    notes = list(raw.notes)
    x_pool, y_pool = raw.x_train, raw.y_train
    n_pool = len(y_pool)

    own_val = (raw.x_val, raw.y_val) if raw.x_val is not None and raw.y_val is not None else None
    if own_val is not None:
        val_idx = np.zeros(0, dtype=np.int64)
        rest_idx = np.arange(n_pool)
        n_val = len(own_val[1])
        notes.append(f"validation: the data's own validation split, {n_val} samples (val_fraction not used).")
    else:
        # 2. validation split
        n_val = round_half_up(val_fraction * n_pool)
        rng_val = np.random.default_rng([seed, 0])
        if classify:
            val_idx, rest_idx = stratified_take(y_pool, n_val, rng_val)
        else:
            val_idx, rest_idx = random_take(n_pool, n_val, rng_val)
        how = "stratified by class" if classify else "at random"
        notes.append(f"validation: {n_val} of the {n_pool} training samples ({val_fraction:g}), {how}, "
                     f"drawn with data seed {seed}.")

    if len(rest_idx) == 0:
        raise ValueError(
            invalid_argument(
                "val_fraction",
                f"a fraction that leaves training samples ({name!r} has {n_pool} in its training pool)",
                val_fraction,
            )
        )

    # 3. training subset
    rng_sub = np.random.default_rng([seed, 1])
    if train_size is not None:
        if per_class:
            smallest = int(np.bincount(y_pool[rest_idx], minlength=len(raw.class_names)).min())
            if train_size > smallest:
                raise ValueError(
                    invalid_argument(
                        "train_size",
                        f"an integer in [1, {smallest}] with per_class=True (the smallest class of "
                        f"{name!r} has {smallest} training samples after the validation split)",
                        train_size,
                    )
                )
            chosen = per_class_take(y_pool[rest_idx], train_size, rng_sub)
        else:
            left = len(rest_idx)
            if train_size > left:
                raise ValueError(
                    invalid_argument(
                        "train_size",
                        f"an integer in [1, {left}] ({name!r} has {n_pool} training samples, "
                        f"{n_val} of them held out for validation)",
                        train_size,
                    )
                )
            if classify:
                chosen, _ = stratified_take(y_pool[rest_idx], train_size, rng_sub)
            else:
                chosen, _ = random_take(left, train_size, rng_sub)
        train_idx = rest_idx[chosen]
        how = "per class" if per_class else ("stratified by class" if classify else "at random")
        notes.append(f"training: train_size={train_size} {how}, {len(train_idx)} of the {len(rest_idx)} "
                     f"samples left after validation, drawn with data seed {seed}.")
    else:
        train_idx = rest_idx

    x_train, y_clean = x_pool[train_idx], y_pool[train_idx]
    if own_val is not None:
        x_val, y_val = own_val
    else:
        x_val, y_val = x_pool[val_idx], y_pool[val_idx]
    x_test, y_test = raw.x_test, raw.y_test
    num_classes = len(raw.class_names) if classify else 1

    # 4. label noise
    if classify:
        y_train, flipped = flip_labels(y_clean, label_noise, num_classes, np.random.default_rng([seed, 2]))
    else:
        y_train, flipped = y_clean, np.zeros(len(y_clean), dtype=bool)

    # 5. normalisation from the training split only
    mode = raw.normalization if normalize else "none"
    mean_t: tuple[float, ...] = ()
    std_t: tuple[float, ...] = ()
    if mode != "none":
        mean, std = normalization_stats(x_train, mode)
        x_train, x_val, x_test = ((x - mean) / std for x in (x_train, x_val, x_test))
        mean_t = tuple(float(v) for v in mean.ravel())
        std_t = tuple(float(v) for v in std.ravel())

    input_shape = tuple(int(d) for d in x_pool.shape[1:])
    y_dtype = torch.int64 if classify else torch.float32

    def tx(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).reshape(-1, *input_shape)

    def ty(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(a)).to(y_dtype)

    info = DatasetInfo(
        name=name,
        task=task,
        input_shape=input_shape,
        num_classes=num_classes,
        n_train=len(train_idx),
        n_val=len(y_val),
        n_test=len(y_test),
        label_noise=float(label_noise),
        n_flipped=int(flipped.sum()),
        seed=seed,
        train_size=train_size,
        per_class=per_class,
        val_fraction=float(val_fraction),
        normalization=mode,
        mean=mean_t,
        std=std_t,
        class_names=tuple(raw.class_names),
        options=dict(options or {}),
        description=description,
        notes=tuple(notes),
    )
    return Splits(
        x_train=tx(x_train), y_train=ty(y_train),
        x_val=tx(x_val), y_val=ty(y_val),
        x_test=tx(x_test), y_test=ty(y_test),
        info=info,
        flipped=torch.from_numpy(flipped.copy()),
        y_train_clean=ty(y_clean),
    )

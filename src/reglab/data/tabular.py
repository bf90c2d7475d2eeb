"""CSV and Parquet files with a target column, read with pandas (extras ``reglab[tabular]`` and
``reglab[parquet]``).

Rules, the same for both formats:

* ``target`` names the label column (required); every other column is a feature.
* Numeric and boolean columns are features as they are; text and categorical columns are one-hot
  encoded (one 0/1 column per value, named ``column=value``), and a note lists them.
* Rows with a missing value in any column (the target included) are dropped, and a note says how
  many and which; a file left with no rows is refused. Dropping, not imputing, keeps every number
  reglab reports a statement about rows that were really observed.
* The task is detected from the target column (see :mod:`reglab.data.arrays`) unless ``task`` is
  given; a test split is held out as for any user data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from reglab._validate import format_choices
from reglab.data.arrays import UserData, prepare
from reglab.errors import DataUnavailableError, invalid_argument

__all__ = ["read_table"]


def _pandas(what: str, extra: str) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise DataUnavailableError(
            f"Reading {what} files needs the optional extra pandas, which is not installed. "
            f"Install it with: pip install 'reglab[{extra}]'"
        ) from None
    return pd


def _read(path: Path) -> Any:
    if path.suffix.lower() in (".parquet", ".pq"):
        pd = _pandas("Parquet", "parquet")
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise DataUnavailableError(
                "Reading Parquet files needs the optional extra pyarrow, which is not installed. "
                "Install it with: pip install 'reglab[parquet]'"
            ) from None
        return pd.read_parquet(path)
    pd = _pandas("CSV", "tabular")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(invalid_argument("data", "a CSV file pandas can parse", None,
                                          shown=f"{path} ({str(exc).strip().splitlines()[0]})")) from None


def _rows(index: np.ndarray) -> str:
    shown = ", ".join(str(int(i)) for i in index[:5])
    return shown + (", ..." if len(index) > 5 else "")


def read_table(
    path: Path, *, target: str | None = None, task: str | None = None, test_fraction: float = 0.2
) -> UserData:
    """Read a CSV or Parquet file as user data (see the module docstring for the rules).

    Args:
        path: the ``.csv`` or ``.parquet`` file.
        target: the label column. Required.
        task: ``"classification"``, ``"regression"`` or None (detected). Defaults to None.
        test_fraction: held out as the fixed test set. Defaults to 0.2.

    Raises:
        ValueError: no ``target``, a ``target`` that is not a column (the message lists the
            columns), a file with no complete row, and whatever :func:`prepare` refuses.
        reglab.errors.DataUnavailableError: pandas (or pyarrow for Parquet) is not installed.
    """
    frame = _read(path)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if target is None:
        raise ValueError(invalid_argument(
            "target", f"the name of the label column of {path.name} (one of {format_choices(columns)})", None))
    if target not in columns:
        raise ValueError(invalid_argument("target", f"a column of {path.name}: {format_choices(columns)}", target))
    if len(columns) < 2:
        raise ValueError(invalid_argument("data", "a table with feature columns besides the target", None,
                                          shown=f"{path.name} has only the column {target!r}"))
    notes = [f"read {len(frame)} rows and {len(columns)} columns from {path.name}; target column {target!r}."]
    incomplete = frame.isna().any(axis=1).to_numpy()
    if incomplete.any():
        dropped = np.flatnonzero(incomplete)
        if len(dropped) == len(frame):
            raise ValueError(invalid_argument("data", "rows without missing values", None,
                                              shown=f"every one of the {len(frame)} rows of {path.name} "
                                                    "has a missing value"))
        notes.append(f"dropped {len(dropped)} of {len(frame)} rows with missing values "
                     f"(data rows {_rows(dropped)}, counted from 0).")
        frame = frame.loc[~incomplete]
    y = frame[target].to_numpy()
    features = frame.drop(columns=[target])
    categorical = [c for c in features.columns if not (features[c].dtype.kind in "biuf")]
    if categorical:
        levels = {c: int(features[c].nunique()) for c in categorical}
        features = _pandas("CSV", "tabular").get_dummies(
            features, columns=categorical, prefix=categorical, prefix_sep="=", dtype=np.float32)
        listed = ", ".join(f"{c!r} ({levels[c]} values)" for c in categorical)
        notes.append(f"one-hot encoded {len(categorical)} categorical column{'s' if len(categorical) > 1 else ''}: "
                     f"{listed}; {features.shape[1]} feature columns in all.")
    else:
        notes.append(f"{features.shape[1]} numeric feature columns.")
    x = features.to_numpy(dtype=np.float32)
    return prepare({"x_train": x, "y_train": y}, task=task, test_fraction=test_fraction, notes=tuple(notes))

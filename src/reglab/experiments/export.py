"""Export finished studies from a run store to MLflow, TensorBoard or CSV.

Each completed run becomes one tracked run named ``<study>/<arm>/seed<seed>``: its spec as
parameters (flattened: ``optimizer.lr``, ``regularization.dropout``), its per-epoch curves (the
store's ``epochs`` rows, stepped by epoch), its final metrics under ``final/<name>`` at the last
epoch, and as tags its stop reason, best epoch, store key and diagnosis (JSON, plus its
``verdict`` and ``sentence`` as ``diagnosis_verdict``/``diagnosis_sentence``). The store is read through :class:`RunStore` only.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reglab.errors import StoreError, invalid_argument
from reglab.experiments.store import RunStore

__all__ = ["EXPORT_TARGETS", "ExportResult", "export_store"]

EXPORT_TARGETS = ("mlflow", "tensorboard", "csv")


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export_store` wrote: how many runs, and where."""

    runs: int
    target: str
    where: str


def _sink(to: str, out: Path, tracking_uri: str | None, experiment: str) -> Any:
    from reglab.integrations import tracking

    if to == "tensorboard":
        return tracking.TensorBoardSink(out)
    if to == "mlflow":
        return tracking.MLflowSink(tracking_uri or f"sqlite:///{(out / 'mlflow.db').resolve()}", experiment)
    return tracking.CSVSink(out / "epochs.csv")


def export_store(
    store: str | Path,
    to: str,
    out: str | Path,
    *,
    study: str | None = None,
    tracking_uri: str | None = None,
    experiment: str = "reglab",
) -> ExportResult:
    """Write every completed run of ``store`` (or of one ``study``) to ``to``.

    Args:
        store: the run store file (``runs.sqlite``); it must exist.
        to: ``"mlflow"``, ``"tensorboard"`` or ``"csv"``.
        out: output folder: TensorBoard run folders; ``epochs.csv`` + ``runs.csv``; for MLflow
            ``out/mlflow.db`` unless ``tracking_uri`` is given.
        study: only this study. Defaults to None (every study of the store).
        tracking_uri: MLflow only: where to log. Defaults to None (``sqlite:///<out>/mlflow.db``).
        experiment: MLflow only: the experiment name. Defaults to ``"reglab"``.

    Raises:
        StoreError: the store is missing or unreadable, or ``study`` is not in it.
        MissingExtraError: MLflow/TensorBoard without the ``tracking`` extra.
    """
    if to not in EXPORT_TARGETS:
        raise ValueError(invalid_argument("to", "one of " + ", ".join(repr(t) for t in EXPORT_TARGETS), to))
    path = Path(store)
    if not path.is_file():
        raise StoreError(f"No run store at {str(path)!r}. Expected the runs.sqlite file of a study or sweep.")
    out = Path(out)
    with RunStore(path) as rs:
        names = rs.study_names()
        if study is not None and study not in names:
            raise StoreError(
                f"The run store {str(path)!r} has no study {study!r}. Expected one of "
                + (", ".join(repr(n) for n in names) or "its studies (it holds none)")
                + "."
            )
        runs = rs.runs(study)
        sink = _sink(to, out, tracking_uri, experiment)
        summary: list[dict[str, Any]] = []
        for run in runs:
            name = f"{run.study}/{run.arm}/seed{run.seed}"
            params = run.spec.to_dict()
            sink.start(name, params)
            rows = rs.epochs(run.study, run.key)
            for row in rows:
                sink.log({k: v for k, v in row.items() if k != "epoch"}, row["epoch"])
            last = rows[-1]["epoch"] if rows else 0
            final = {
                f"final/{k}": v for k, v in run.final.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
            }
            sink.log(final, last)
            tags = {
                "study": run.study,
                "key": run.key,
                "stop_reason": str(run.history.get("stop_reason", "")),
                "best_epoch": str(run.history.get("best_epoch")),
            }
            if run.diagnosis is not None:
                tags["diagnosis"] = json.dumps(run.diagnosis, sort_keys=True)
                for part in ("verdict", "sentence"):
                    if isinstance(run.diagnosis.get(part), str):
                        tags[f"diagnosis_{part}"] = run.diagnosis[part]
            sink.finish(tags)
            summary.append({"run": name, **tags, **final})
    if to == "csv":
        _write_runs_csv(out / "runs.csv", summary)
        where = str(out)
    elif to == "mlflow":
        where = sink.client.tracking_uri
    else:
        where = str(out)
    return ExportResult(runs=len(runs), target=to, where=where)


def _write_runs_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns or ["run"])
        writer.writeheader()
        writer.writerows(rows)

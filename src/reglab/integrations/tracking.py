"""Experiment tracking for reglab's own ``Trainer``: TensorBoard, MLflow and CSV.

A *sink* receives one run: :meth:`start` (its name and parameters), :meth:`log` (numeric metrics
at an epoch) and :meth:`finish` (text tags such as the stop reason). The same sinks serve the
Trainer callbacks here (:class:`TensorBoardLogger`, :class:`MLflowLogger`, :class:`CSVLogger`: one
row of epoch logs per epoch) and ``reglab export`` (:mod:`reglab.experiments.export`, finished
studies from the run store).

TensorBoard and MLflow need the ``tracking`` extra: ``pip install 'reglab[tracking]'``; CSV needs
nothing. Under ``torch.distributed`` only rank 0 writes. A resumed ``fit`` starts a new run.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import torch

from reglab._extras import require
from reglab.errors import invalid_argument
from reglab.training.callbacks import Callback

__all__ = [
    "CSVSink",
    "TensorBoardSink",
    "MLflowSink",
    "TrackingCallback",
    "CSVLogger",
    "TensorBoardLogger",
    "MLflowLogger",
    "flatten",
]


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> ``{"a.b": value}`` (how MLflow and TensorBoard show parameters)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    """The numeric entries of ``metrics`` (None and non-numbers dropped; tensors become floats)."""
    out = {}
    for key, value in metrics.items():
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = float(value)
    return out


class CSVSink:
    """Per-epoch rows in one CSV file: ``run`` (when named), ``epoch``, then the metrics.

    The file is rewritten after every row (small files; a crash keeps every finished epoch) with
    the union of the columns seen so far. Parameters and tags are not written (the CSV holds
    curves); ``reglab export --to csv`` writes them to ``runs.csv``.

    Args:
        path: the CSV file (its folder is created).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.rows: list[dict[str, Any]] = []
        self.name = ""

    def start(self, name: str, params: dict[str, Any]) -> None:
        self.name = name

    def log(self, metrics: dict[str, Any], step: int) -> None:
        row: dict[str, Any] = {"run": self.name} if self.name else {}
        row["epoch"] = step
        row.update(_numbers(metrics))
        self.rows.append(row)
        columns: list[str] = []
        for r in self.rows:
            columns += [k for k in r if k not in columns]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)

    def finish(self, tags: dict[str, str]) -> None:
        """Nothing to close (rows are written as they come)."""


class TensorBoardSink:
    """One TensorBoard run folder per run: scalars per epoch, parameters and tags as text.

    Args:
        log_dir: the root folder; a named run writes to ``log_dir/<name>``.
    """

    def __init__(self, log_dir: str | os.PathLike[str]) -> None:
        require("tracking", "TensorBoard logging", ("tensorboard",))
        from torch.utils.tensorboard import SummaryWriter

        self._writer_cls = SummaryWriter
        self.log_dir = Path(log_dir)
        self.writer: Any = None

    def start(self, name: str, params: dict[str, Any]) -> None:
        self.writer = self._writer_cls(log_dir=str(self.log_dir / name if name else self.log_dir))
        if params:
            table = "\n".join(f"| {k} | {v} |" for k, v in sorted(flatten(params).items()))
            self.writer.add_text("params", "| parameter | value |\n|---|---|\n" + table, 0)

    def log(self, metrics: dict[str, Any], step: int) -> None:
        for key, value in _numbers(metrics).items():
            self.writer.add_scalar(key, value, step)

    def finish(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.writer.add_text(key, value, 0)
        self.writer.close()


class MLflowSink:
    """One MLflow run per run, through ``MlflowClient`` (no global active run is touched).

    Args:
        tracking_uri: where MLflow stores runs (``"sqlite:///mlflow.db"``, a server URL).
            Defaults to None (MLflow's own default: ``MLFLOW_TRACKING_URI`` or ``./mlruns``).
        experiment: the MLflow experiment, created when missing. Defaults to ``"reglab"``.
    """

    def __init__(self, tracking_uri: str | None = None, experiment: str = "reglab") -> None:
        require("tracking", "MLflow logging", ("mlflow",))
        from mlflow.tracking import MlflowClient

        if not isinstance(experiment, str) or not experiment:
            raise ValueError(invalid_argument("experiment", "a non-empty experiment name", experiment))
        self.client = MlflowClient(tracking_uri)
        self.experiment = experiment
        self.run_id: str | None = None

    def start(self, name: str, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        found = self.client.get_experiment_by_name(self.experiment)
        exp_id = found.experiment_id if found is not None else self.client.create_experiment(self.experiment)
        self.run_id = self.client.create_run(exp_id, run_name=name or None).info.run_id
        flat = [Param(k, json.dumps(v) if isinstance(v, (list, dict)) else str(v)) for k, v in flatten(params).items()]
        for i in range(0, len(flat), 100):  # MLflow takes at most 100 params per batch
            self.client.log_batch(self.run_id, params=flat[i : i + 100])

    def log(self, metrics: dict[str, Any], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, v, now, step) for k, v in _numbers(metrics).items() if not math.isnan(v)]
        if batch:
            self.client.log_batch(self.run_id, metrics=batch)  # type: ignore[arg-type]

    def finish(self, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, value)  # type: ignore[arg-type]
        self.client.set_terminated(self.run_id)  # type: ignore[arg-type]


def _rank_zero() -> bool:
    dist = torch.distributed
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


class TrackingCallback(Callback):
    """Send a reglab ``Trainer``'s epoch logs to a sink (one row/point per epoch).

    ``on_fit_end`` adds the tags ``stop_reason`` and ``best_epoch``. Only rank 0 writes under
    ``torch.distributed``.

    Args:
        sink: a :class:`CSVSink`, :class:`TensorBoardSink` or :class:`MLflowSink`.
        run_name: the run's name in the sink. Defaults to ``""`` (the sink's default).
        params: parameters recorded with the run (nested dicts are flattened). Defaults to None.
    """

    order = 50  # after the callbacks that decide

    def __init__(self, sink: Any, run_name: str = "", params: dict[str, Any] | None = None) -> None:
        if not all(callable(getattr(sink, m, None)) for m in ("start", "log", "finish")):
            raise ValueError(invalid_argument("sink", "an object with start, log and finish methods", sink))
        self.sink, self.run_name, self.params = sink, run_name, dict(params or {})

    def on_fit_start(self, trainer: Any) -> None:
        if _rank_zero():
            self.sink.start(self.run_name, self.params)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        if _rank_zero():
            self.sink.log({k: v for k, v in logs.items() if k != "epoch"}, epoch)

    def on_fit_end(self, trainer: Any) -> None:
        if _rank_zero():
            self.sink.finish({"stop_reason": trainer.stop_reason, "best_epoch": str(trainer.best_epoch)})


class CSVLogger(TrackingCallback):
    """Write the epoch logs of a reglab ``Trainer`` to the CSV file ``path``, one row per epoch."""

    def __init__(self, path: str | os.PathLike[str], run_name: str = "") -> None:
        super().__init__(CSVSink(path), run_name)


class TensorBoardLogger(TrackingCallback):
    """Log a reglab ``Trainer``'s epoch metrics to TensorBoard under ``log_dir[/run_name]``."""

    def __init__(self, log_dir: str | os.PathLike[str], run_name: str = "", params: dict[str, Any] | None = None) -> None:
        super().__init__(TensorBoardSink(log_dir), run_name, params)


class MLflowLogger(TrackingCallback):
    """Log a reglab ``Trainer``'s epoch metrics, ``params`` and stop reason to one MLflow run."""

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment: str = "reglab",
        run_name: str = "",
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(MLflowSink(tracking_uri, experiment), run_name, params)

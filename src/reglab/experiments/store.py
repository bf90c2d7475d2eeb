"""The run store: one SQLite file (``runs.sqlite``) holding studies, runs and per-epoch metrics.

Design: a run is written once, when it is complete, in one transaction, so
a study interrupted at any moment (Ctrl-C, a killed process, a power cut) leaves only whole runs;
resuming skips the keys already completed and trains the rest, so the finished study holds exactly
the planned runs, none twice (``(study, key)`` is the primary key).

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`, ``PRAGMA application_id`` =
:data:`APPLICATION_ID` marks the file as reglab's; anything else is refused as foreign)::

    studies(name PK, kind, config JSON, created, updated)
    runs(study, key, arm, seed, position, status, spec JSON, final JSON, diagnosis JSON, error,
         best_epoch, stopped_epoch, stop_reason, history JSON, seconds, finished, PK(study, key))
    epochs(study, key, epoch, train_loss, train_acc, val_loss, val_acc, lr,
           grad_norm_mean, grad_norm_max, seconds, extra JSON, PK(study, key, epoch))

``status`` is ``"planned"`` (in the current plan, not trained yet), ``"completed"``,
``"diverged"`` (its loss became NaN/inf: a result, kept with its ``stop_reason`` and not retrained
on resume) or ``"failed"`` (error kept; retried on resume). Schema version 1 (without
``"diverged"``) is upgraded in place when a store is opened for writing. Epochs are numbered from 1. ``runs.history`` keeps
the exact ``History.to_dict()`` (NaN included); ``epochs`` holds the same numbers one row per
epoch for SQL queries (SQLite stores NaN as NULL there).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reglab.errors import StoreError
from reglab.experiments.spec import RunSpec

__all__ = ["RunStore", "StoredRun", "SCHEMA_VERSION", "APPLICATION_ID", "EPOCH_COLUMNS"]

SCHEMA_VERSION = 2
#: ``PRAGMA application_id``: the bytes "RGLB".
APPLICATION_ID = 0x52474C42

#: Per-epoch history lists stored as columns; any other per-epoch list goes to ``extra``.
#: ``reglab.training.history.METRICS`` after ``epoch``, copied: importing it would import torch.
EPOCH_COLUMNS = (
    "train_loss",
    "train_acc",
    "val_loss",
    "val_acc",
    "lr",
    "grad_norm_mean",
    "grad_norm_max",
    "seconds",
)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS studies (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    study TEXT NOT NULL REFERENCES studies(name) ON DELETE CASCADE,
    key TEXT NOT NULL,
    arm TEXT NOT NULL,
    seed INTEGER NOT NULL,
    position INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('planned', 'completed', 'diverged', 'failed')),
    spec TEXT NOT NULL,
    final TEXT,
    diagnosis TEXT,
    error TEXT,
    best_epoch INTEGER,
    stopped_epoch INTEGER,
    stop_reason TEXT,
    history TEXT,
    seconds REAL,
    finished REAL,
    PRIMARY KEY (study, key)
);
CREATE TABLE IF NOT EXISTS epochs (
    study TEXT NOT NULL,
    key TEXT NOT NULL,
    epoch INTEGER NOT NULL CHECK (epoch >= 1),
    {", ".join(f"{c} REAL" for c in EPOCH_COLUMNS)},
    extra TEXT,
    PRIMARY KEY (study, key, epoch),
    FOREIGN KEY (study, key) REFERENCES runs(study, key) ON DELETE CASCADE
);
"""


@dataclass(frozen=True)
class StoredRun:
    """One run as stored. ``history`` is ``History.to_dict()``; ``final`` the final metrics."""

    key: str
    spec: RunSpec
    status: str
    history: dict[str, Any] = field(default_factory=dict)
    final: dict[str, Any] = field(default_factory=dict)
    diagnosis: dict[str, Any] | None = None
    study: str = ""
    error: str | None = None
    seconds: float | None = None

    @property
    def arm(self) -> str:
        return self.spec.arm

    @property
    def seed(self) -> int:
        return self.spec.seed


#: Statuses of a finished run: a result, never retrained on resume.
_RESULTS = ("completed", "diverged")


def _json(value: Any) -> str:
    return json.dumps(value, allow_nan=True, separators=(",", ":"))


def _table(text: str | None, what: str) -> dict[str, Any] | None:
    """A JSON object column (None when empty); anything else -> ValueError saying what it holds."""
    if not text:
        return None
    value = json.loads(text)
    if not isinstance(value, dict):
        verb = "are" if what.endswith("s") else "is"
        raise ValueError(f"its {what} {verb} a {_json_kind(value)}, not a table")
    return value


def _json_kind(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(value), "null")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    return float(value)


class RunStore:
    """The SQLite run store at ``path`` (created with its directory when missing).

    ``readonly=True`` opens an existing store for reading only (``report``, ``recommend``,
    ``uncertainty``): nothing is created, upgraded or written, so a store on a read-only
    filesystem or in a directory without write permission can be read. SQLite's ``mode=ro`` URI
    is used while a ``-wal`` file exists in a writable directory (a study may be writing: its WAL
    is honoured), and ``immutable=1`` otherwise (no writer is active, or none can be: not even a
    ``-shm`` file is created).

    Raises :class:`~reglab.errors.StoreError` when the file is not a SQLite database, is a
    database of another application, has a newer schema, or cannot be created/written.
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        if readonly:
            self._open_readonly()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the output directory {str(self.path.parent)!r}: "
                f"{exc.strerror or exc}. Expected a writable directory."
            ) from None
        existed = self.path.exists() and self.path.stat().st_size > 0
        try:
            self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(
                f"Cannot open the run store {str(self.path)!r}: {exc}. Expected a writable file."
            ) from None
        self._conn.row_factory = sqlite3.Row
        try:
            self._check_or_create(existed)
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise self._database_error(exc, "Cannot use", "a writable") from None

    # ------------------------------------------------------------------ setup
    def _database_error(self, exc: sqlite3.DatabaseError, action: str, kind: str) -> StoreError:
        """The error for a store SQLite refuses: a corrupt or foreign file, else ``"<action> the run
        store ...: <why>. Expected <kind> reglab run store."``."""
        msg = str(exc)
        if "not a database" in msg or "malformed" in msg or "encrypted" in msg:
            return StoreError(
                f"The run store {str(self.path)!r} is corrupt or not a SQLite file ({msg}). "
                "Expected a reglab run store; move it away or choose another --out directory."
            )
        return StoreError(f"{action} the run store {str(self.path)!r}: {msg}. Expected {kind} reglab run store.")

    def _open_readonly(self) -> None:
        if not self.path.is_file():
            raise StoreError(f"Run store {str(self.path)!r} not found. Expected the runs.sqlite file written by "
                             "`reglab study` or `reglab sweep`.")
        wal = self.path.with_name(self.path.name + "-wal")
        # A -wal file means a writer may be active: honour its WAL (mode=ro, which needs a -shm it
        # may create). Without one, or where nothing can be created, read the file as it is.
        flag = "mode=ro" if wal.exists() and os.access(self.path.parent, os.W_OK) else "immutable=1"
        uri = f"{self.path.resolve().as_uri()}?{flag}"
        try:
            self._conn = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA query_only=ON")
            app_id = self._conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id != APPLICATION_ID:
                raise self._foreign(app_id)
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise self._database_error(exc, "Cannot read", "a readable") from None
        if version > SCHEMA_VERSION or not {"studies", "runs", "epochs"} <= tables:
            self._conn.close()
            raise StoreError(f"The run store {str(self.path)!r} has schema version {version} or misses tables; "
                             f"this reglab reads version {SCHEMA_VERSION}. Expected a complete reglab run store.")

    def _foreign(self, app_id: int) -> StoreError:
        self._conn.close()
        return StoreError(
            f"The file {str(self.path)!r} is not a reglab run store (SQLite application_id "
            f"{app_id:#x}, expected {APPLICATION_ID:#x}). Move it away or choose another "
            "--out directory."
        )

    def _check_or_create(self, existed: bool) -> None:
        conn = self._conn
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if existed and app_id != APPLICATION_ID:
            raise self._foreign(app_id)
        if app_id != APPLICATION_ID:
            # A new file: create the schema and mark it ours in one transaction (another process
            # may be creating the same store right now: re-check under the write lock).
            conn.execute("BEGIN IMMEDIATE")
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id != APPLICATION_ID:
                if conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                    conn.execute("ROLLBACK")
                    raise self._foreign(app_id)
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            self._conn.close()
            raise StoreError(
                f"The run store {str(self.path)!r} has schema version {version}; this reglab "
                f"reads version {SCHEMA_VERSION}. Upgrade reglab or choose another --out directory."
            )
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = {"studies", "runs", "epochs"} - tables
        if missing:
            self._conn.close()
            raise StoreError(
                f"The run store {str(self.path)!r} is incomplete (missing tables "
                f"{', '.join(sorted(missing))}). Expected a reglab run store; move it away or "
                "choose another --out directory."
            )
        if version < SCHEMA_VERSION:
            self._upgrade()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")

    def _upgrade(self) -> None:
        """Version 1 -> 2: allow status ``'diverged'`` (SQLite's documented table rebuild)."""
        conn = self._conn
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            runs_sql = _SCHEMA.split("CREATE TABLE IF NOT EXISTS runs")[1].split(";")[0]
            conn.execute("CREATE TABLE runs_v2" + runs_sql)
            conn.execute("INSERT INTO runs_v2 SELECT * FROM runs")
            conn.execute("DROP TABLE runs")
            conn.execute("ALTER TABLE runs_v2 RENAME TO runs")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(conn, *args)`` in one IMMEDIATE transaction; OS/SQLite errors -> StoreError."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                out = fn(self._conn, *args)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return out
        except sqlite3.Error as exc:
            raise StoreError(
                f"Cannot write to the run store {str(self.path)!r}: {exc}. Expected a writable file."
            ) from None

    # ------------------------------------------------------------------ studies
    def studies(self) -> list[dict[str, Any]]:
        """``[{"name", "kind", "config", "created", "updated", "runs", "completed"}]``."""
        rows = self._conn.execute(
            "SELECT s.name, s.kind, s.config, s.created, s.updated, "
            "COUNT(r.key) AS runs, SUM(r.status = 'completed') AS completed "
            "FROM studies s LEFT JOIN runs r ON r.study = s.name GROUP BY s.name ORDER BY s.created"
        ).fetchall()
        return [
            {
                "name": r["name"],
                "kind": r["kind"],
                "config": json.loads(r["config"]),
                "created": r["created"],
                "updated": r["updated"],
                "runs": r["runs"],
                "completed": r["completed"] or 0,
            }
            for r in rows
        ]

    def study_names(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT name FROM studies ORDER BY created")]

    def unplanned_completed(self, name: str, keys: Iterable[str]) -> list[str]:
        """Keys of the completed runs of study ``name`` that are not among ``keys`` (a changed
        plan: :meth:`plan_study` refuses to keep them without ``replace``)."""
        planned = set(keys)
        rows = self._conn.execute("SELECT key FROM runs WHERE study = ? AND status = 'completed'",
                                  (name,)).fetchall()
        return [r["key"] for r in rows if r["key"] not in planned]

    def plan_study(
        self, name: str, kind: str, config: Mapping[str, Any], specs: Iterable[RunSpec], *, replace: bool = False
    ) -> list[str]:
        """Record (or update) a study and its planned runs in one transaction.

        Completed runs of the study that are in ``specs`` are kept; runs not in ``specs`` that are
        completed make this raise :class:`StoreError` unless ``replace`` (then the study's old runs
        are deleted). Returns the keys of the plan, in order.
        """
        specs = list(specs)
        keys = [s.key() for s in specs]

        def tx(conn: sqlite3.Connection) -> list[str]:
            now = time.time()
            if replace:
                conn.execute("DELETE FROM epochs WHERE study = ?", (name,))
                conn.execute("DELETE FROM runs WHERE study = ?", (name,))
            rows = conn.execute("SELECT key, status FROM runs WHERE study = ?", (name,)).fetchall()
            planned = set(keys)
            stale_done = [r["key"] for r in rows if r["key"] not in planned and r["status"] in _RESULTS]
            if stale_done:
                raise StoreError(
                    f"The run store {str(self.path)!r} already holds study {name!r} with "
                    f"{len(stale_done)} completed run(s) that are not in this plan (the config "
                    "changed). Run with --no-resume to replace them, or choose another --out "
                    "directory or --name."
                )
            conn.execute(
                "DELETE FROM runs WHERE study = ? AND status NOT IN ('completed', 'diverged') AND key NOT IN "
                f"({','.join('?' * len(keys)) or 'NULL'})",
                (name, *keys),
            )
            conn.execute(
                "INSERT INTO studies(name, kind, config, created, updated) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, config = excluded.config, "
                "updated = excluded.updated",
                (name, kind, _json(dict(config)), now, now),
            )
            for position, (spec, key) in enumerate(zip(specs, keys)):
                conn.execute(
                    "INSERT INTO runs(study, key, arm, seed, position, status, spec) "
                    "VALUES (?, ?, ?, ?, ?, 'planned', ?) "
                    "ON CONFLICT(study, key) DO UPDATE SET position = excluded.position",
                    (name, key, spec.arm, spec.seed, position, _json(spec.to_dict())),
                )
            return keys

        return self._write(tx)

    def completed_keys(self, study: str) -> set[str]:
        """Keys of the study's finished runs, completed or diverged (skipped on resume)."""
        return {
            r[0]
            for r in self._conn.execute(
                "SELECT key FROM runs WHERE study = ? AND status IN ('completed', 'diverged')", (study,)
            )
        }

    def counts(self, study: str) -> dict[str, int]:
        """Runs by status, e.g. ``{"planned": 3, "completed": 12, "diverged": 0, "failed": 0}``."""
        out = {"planned": 0, "completed": 0, "diverged": 0, "failed": 0}
        for status, n in self._conn.execute(
            "SELECT status, COUNT(*) FROM runs WHERE study = ? GROUP BY status", (study,)
        ):
            out[status] = n
        return out

    # ------------------------------------------------------------------ runs
    def add_result(self, study: str, result: Any, diagnosis: Mapping[str, Any] | None = None) -> None:
        """Store a finished run (a ``RunResult``) with its epochs, in one transaction.

        The run becomes ``completed``, or ``diverged`` when ``history["diverged_epoch"]`` is set;
        storing the same key twice replaces it (never duplicates).
        """
        spec: RunSpec = result.spec
        key = spec.key()
        history = dict(result.history)
        status = "diverged" if history.get("diverged_epoch") is not None else "completed"
        epochs = list(history.get("epoch", []))
        per_epoch = {k: v for k, v in history.items() if isinstance(v, list) and k != "epoch"}
        for k, v in per_epoch.items():
            if len(v) != len(epochs):
                raise StoreError(
                    f"Cannot store run {key} of study {study!r}: history[{k!r}] has {len(v)} values "
                    f"for {len(epochs)} epochs. Expected one value per epoch."
                )
        extra_keys = [k for k in per_epoch if k not in EPOCH_COLUMNS]

        def tx(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.execute(
                "INSERT INTO studies(name, kind, config, created, updated) VALUES (?, 'study', '{}', ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET updated = excluded.updated",
                (study, now, now),
            )
            position = conn.execute(
                "SELECT position FROM runs WHERE study = ? AND key = ?", (study, key)
            ).fetchone()
            if position is None:
                position = conn.execute(
                    "SELECT COALESCE(MAX(position) + 1, 0) FROM runs WHERE study = ?", (study,)
                ).fetchone()
            conn.execute("DELETE FROM epochs WHERE study = ? AND key = ?", (study, key))
            conn.execute(
                "INSERT INTO runs(study, key, arm, seed, position, status, spec, final, diagnosis, "
                "error, best_epoch, stopped_epoch, stop_reason, history, seconds, finished) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(study, key) DO UPDATE SET status = excluded.status, spec = excluded.spec, "
                "final = excluded.final, diagnosis = excluded.diagnosis, error = NULL, "
                "best_epoch = excluded.best_epoch, stopped_epoch = excluded.stopped_epoch, "
                "stop_reason = excluded.stop_reason, history = excluded.history, "
                "seconds = excluded.seconds, finished = excluded.finished",
                (
                    study, key, spec.arm, spec.seed, position[0], status, _json(spec.to_dict()),
                    _json(dict(result.final)), _json(dict(diagnosis)) if diagnosis is not None else None,
                    history.get("best_epoch"), history.get("stopped_epoch"), history.get("stop_reason"),
                    _json(history), float(result.seconds), now,
                ),
            )
            rows = []
            for i, epoch in enumerate(epochs):
                values = [_num(per_epoch[c][i]) if c in per_epoch else None for c in EPOCH_COLUMNS]
                extra = {k: per_epoch[k][i] for k in extra_keys}
                rows.append((study, key, int(epoch), *values, _json(extra) if extra else None))
            conn.executemany(
                f"INSERT INTO epochs(study, key, epoch, {', '.join(EPOCH_COLUMNS)}, extra) "
                f"VALUES ({', '.join('?' * (4 + len(EPOCH_COLUMNS)))})",
                rows,
            )

        self._write(tx)

    def add_failure(self, study: str, spec: RunSpec, error: str, seconds: float = 0.0) -> None:
        """Mark a run ``failed`` with its error message (it is retried on resume)."""
        key = spec.key()

        def tx(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.execute(
                "INSERT INTO studies(name, kind, config, created, updated) VALUES (?, 'study', '{}', ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET updated = excluded.updated",
                (study, now, now),
            )
            position = conn.execute(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM runs WHERE study = ?", (study,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO runs(study, key, arm, seed, position, status, spec, error, seconds, finished) "
                "VALUES (?, ?, ?, ?, ?, 'failed', ?, ?, ?, ?) "
                "ON CONFLICT(study, key) DO UPDATE SET status = 'failed', error = excluded.error, "
                "seconds = excluded.seconds, finished = excluded.finished",
                (study, key, spec.arm, spec.seed, position, _json(spec.to_dict()), error, seconds, now),
            )

        self._write(tx)

    def runs(self, study: str | None = None, *, status: str | None = "completed") -> list[StoredRun]:
        """Stored runs in plan order (all studies when ``study`` is None).

        Args:
            study: the study's name; None for every study.
            status: only runs with this status (``"completed"`` by default); None for all.
        """
        where, args = [], []
        if study is not None:
            where.append("study = ?")
            args.append(study)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY study, position"
        try:
            rows = self._conn.execute(sql, args).fetchall()
            out = []
            for r in rows:
                out.append(
                    StoredRun(
                        key=r["key"],
                        spec=RunSpec.from_dict(json.loads(r["spec"])),
                        status=r["status"],
                        history=self._history(r) if r["status"] in _RESULTS else {},
                        final=_table(r["final"], "final metrics") or {},
                        diagnosis=_table(r["diagnosis"], "diagnosis"),
                        study=r["study"],
                        error=r["error"],
                        seconds=r["seconds"],
                    )
                )
            return out
        except (sqlite3.DatabaseError, ValueError, KeyError) as exc:
            raise StoreError(
                f"The run store {str(self.path)!r} holds a run that cannot be read ({exc}). "
                "Expected runs written by reglab."
            ) from None

    def _history(self, row: sqlite3.Row) -> dict[str, Any]:
        return _table(row["history"], "history") or {}

    def epochs(self, study: str, key: str) -> list[dict[str, Any]]:
        """The per-epoch rows of one run, as dicts (``extra`` merged in)."""
        rows = self._conn.execute(
            "SELECT * FROM epochs WHERE study = ? AND key = ? ORDER BY epoch", (study, key)
        ).fetchall()
        out = []
        for r in rows:
            d = {k: r[k] for k in ("epoch", *EPOCH_COLUMNS)}
            if r["extra"]:
                d.update(json.loads(r["extra"]))
            out.append(d)
        return out

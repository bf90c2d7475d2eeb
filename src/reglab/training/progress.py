"""The Trainer's progress display: a rich bar over epochs and one over the current epoch's batches.

Shown on a terminal; quiet when the output is not a TTY, with ``progress=False``, or when the
environment variable ``REGLAB_PROGRESS`` is ``0`` (which also silences ``progress=True``).
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

__all__ = ["progress_enabled", "TrainingProgress"]


def progress_enabled(progress: bool | None, stream: TextIO | None = None, env: dict[str, str] | None = None) -> bool:
    """Whether to draw the bars.

    ``REGLAB_PROGRESS=0`` in ``env`` (defaults to ``os.environ``) turns them off; otherwise
    ``progress=True``/``False`` decides, and ``None`` shows them when ``stream`` (defaults to
    ``sys.stderr``) is a TTY.
    """
    env = os.environ if env is None else env
    if env.get("REGLAB_PROGRESS", "").strip() == "0":
        return False
    if progress is not None:
        return bool(progress)
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4f}"


class TrainingProgress:
    """Two rich progress bars: epochs, and the batches of the running epoch with its metrics.

    Args:
        epochs: total number of epochs.
        console: a ``rich.console.Console``. Defaults to a console on stderr.
    """

    def __init__(self, epochs: int, console: Any = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[metrics]}"),
            console=console if console is not None else Console(stderr=True),
            transient=False,
        )
        self._epochs = self._progress.add_task("epochs", total=epochs, metrics="")
        self._batches: Any = None

    def __enter__(self) -> TrainingProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def start_epoch(self, epoch: int, batches: int | None, completed_epochs: int) -> None:
        self._progress.update(self._epochs, completed=completed_epochs)
        if self._batches is None:
            self._batches = self._progress.add_task(f"epoch {epoch}", total=batches, metrics="")
        else:
            self._progress.reset(self._batches, total=batches, description=f"epoch {epoch}", metrics="")

    def advance(self) -> None:
        self._progress.advance(self._batches)

    def end_epoch(self, logs: dict[str, Any]) -> None:
        metrics = (
            f"loss {_fmt(logs.get('train_loss'))} acc {_fmt(logs.get('train_acc'))} "
            f"val_loss {_fmt(logs.get('val_loss'))} val_acc {_fmt(logs.get('val_acc'))}"
        )
        self._progress.update(self._epochs, completed=logs["epoch"], metrics=metrics)

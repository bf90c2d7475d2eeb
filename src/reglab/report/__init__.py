"""Reports from the run store: one self-contained HTML file, a Markdown summary and the table.

:func:`build_report` summarises every arm across seeds (:func:`reglab.analysis.summarize_arms`),
draws the figures (:mod:`reglab.report.figures`, matplotlib on the Agg backend, imported only
here so ``import reglab.analysis`` stays light) and writes

* ``<out>/report.html`` - everything embedded (figures as base64 PNG, inline CSS), no external URL;
* ``<out>/report.md`` and ``<out>/figures/<figure id>.png`` - the same content as Markdown.

``reglab report`` and the end of every ``reglab study`` / ``reglab sweep`` call it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reglab.analysis.effects import ArmSummary, as_run_views, find_sweeps, summarize_arms
from reglab.errors import ReglabError, StoreError
from reglab.report.files import write_atomic

__all__ = ["Report", "build_report", "load_runs", "diverged_notes", "retrofit_notes"]


@dataclass(frozen=True)
class Report:
    """What :func:`build_report` wrote, plus the summaries and the rich table for the terminal."""

    html_path: Path
    markdown_path: Path
    summaries: list[ArmSummary]
    figure_ids: list[str]
    table: Any  # a rich renderable (report.table.SummaryTable): the summary table for a terminal
    findings: str


def load_runs(source: Any, study: str | None = None) -> tuple[list[Any], str, str | None]:
    """The runs of ``source`` (a RunStore, a store path, or a sequence of runs), a label for
    messages (the store's path) and the study's name (the only one of the store when ``study``
    is None; None when unknown).

    Raises:
        StoreError: the path does not exist or is not a file (a missing store is never created).
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise StoreError(f"Run store {str(path)!r} not found. Expected the runs.sqlite file "
                             "written by `reglab study` or `reglab sweep`. Received: a path that "
                             "does not exist")
        if not path.is_file():
            raise StoreError(f"Run store {str(path)!r} is not a file. Expected the runs.sqlite "
                             "file written by `reglab study` or `reglab sweep`. Received: a "
                             "directory")
        if path.stat().st_size == 0:
            raise StoreError(f"Run store {str(path)!r} is empty. Expected the runs.sqlite file "
                             "written by `reglab study` or `reglab sweep`. Received: a 0-byte file")
        from reglab.experiments.store import RunStore

        store = RunStore(path, readonly=True)
        try:
            return _store_runs(store, study, str(path))
        finally:
            store.close()
    if hasattr(source, "runs") and callable(source.runs):
        return _store_runs(source, study, str(getattr(source, "path", "run store")))
    if isinstance(source, Sequence):
        return list(source), "runs", study
    raise StoreError(f"Cannot read runs from {type(source).__name__}. Expected a RunStore, a store "
                     f"path or a list of runs. Received: {source!r}")


def _store_runs(store: Any, study: str | None, label: str) -> tuple[list[Any], str, str | None]:
    """The runs of one study of ``store``; ``study=None`` is fine when it holds one study."""
    names = list(store.study_names()) if hasattr(store, "study_names") else None
    if names is not None:
        from reglab._validate import format_choices
        from reglab.errors import invalid_argument

        if study is None and len(names) > 1:
            raise ValueError(invalid_argument(
                "study", f"one of {format_choices(names)} (the store {label!r} holds "
                f"{len(names)} studies)", None, shown="no --study"))
        if study is not None and study not in names:
            expected = f"one of {format_choices(names)}" if names else "a study in the store"
            raise ValueError(invalid_argument("study", expected, study))
        if study is None and len(names) == 1:
            return list(store.runs(names[0])), label, names[0]
    return list(store.runs(study)), label, study


def diverged_notes(source: Any, study: str | None) -> list[str]:
    """One line per diverged run of a store (or store path): ``"<arm> seed <s> diverged in epoch
    <n>: <stop reason>"``. Diverged runs are results kept out of the summaries (their weights are
    rolled back); the report lists them so none disappears silently."""
    from reglab.training.history import diverged_line

    if isinstance(source, (str, os.PathLike)):
        from reglab.experiments.store import RunStore

        with RunStore(Path(source), readonly=True) as store:
            return diverged_notes(store, study)
    if not (hasattr(source, "runs") and callable(source.runs)):
        return []
    return [f"{run.arm} seed {run.seed} {diverged_line(run.history)}"
            for run in source.runs(study, status="diverged")]


def retrofit_notes(summaries: Sequence[ArmSummary]) -> list[str]:
    """Per arm, how it was applied to a model reglab did not build (``final["retrofit"]``, stored
    by ``run_one``; the first seed's, as every seed of an arm gets the same rules)."""
    notes = []
    for s in summaries:
        sentences = next((r.final["retrofit"] for r in s.runs if r.final.get("retrofit") is not None), None)
        if sentences is not None:
            said = " ".join(sentences) if sentences else "the model used as its factory built it."
            notes.append(f"{s.arm} on your model: {said}")
    return notes


def _notes(summaries: Sequence[ArmSummary], figure_ids: Sequence[str]) -> list[str]:
    notes = retrofit_notes(summaries)
    if not find_sweeps(summaries):
        notes.append("No sweep or ablation figure: no regularization field takes two or more "
                     "values with everything else equal.")
    elif "fig-dropout-ablation" not in figure_ids:
        notes.append("No dropout-rate ablation figure: the dropout rate does not vary with "
                     "everything else equal.")
    if "fig-weight-hist" not in figure_ids and any(
            any((s.regularization.get(f) or 0) > 0 for f in ("l1", "l2", "weight_decay"))
            for s in summaries):
        notes.append("No weight histograms: the runs did not record their final weights' "
                     "distribution (stores written before reglab recorded it), or the study has "
                     "no baseline to compare with.")
    return notes


def build_report(
    source: Any,
    out_dir: str | os.PathLike[str],
    *,
    study: str | None = None,
    baseline: str | None = None,
    title: str | None = None,
    confidence: float = 0.95,
) -> Report:
    """Write ``report.html`` (self-contained) and ``report.md`` (+ ``figures/``) into ``out_dir``.

    Args:
        source: a ``RunStore``, the path of a store file, or a list of StoredRun-like runs.
        out_dir: directory for the files (created if needed).
        study: only the runs of this study (passed to ``RunStore.runs``). Defaults to all runs.
        baseline: the reference arm (must exist). Defaults to None: the arm named
            ``"baseline"``, else the one without regularization.
        title: page title. Defaults to ``"reglab report: <study or store name>"``.
        confidence: coverage of every interval. Defaults to 0.95.

    Raises:
        StoreError: missing/unreadable store, or no completed run in it.
    """
    from reglab.report.figures import build_figures
    from reglab.report.findings import findings, setup_text
    from reglab.report.html import render_html
    from reglab.report.markdown import render_markdown
    from reglab.report.table import SummaryTable

    runs, label, study_name = load_runs(source, study)
    views = as_run_views(runs)
    if not views:
        which = f" for study {study!r}" if study else ""
        diverged = diverged_notes(source, study_name)
        got = f"{len(runs)} runs, none completed"
        if diverged:
            got += f"; {len(diverged)} diverged (first: {diverged[0]})"
        raise StoreError(f"Run store {label!r} holds no completed runs{which}. Expected at least "
                         f"one completed run. Received: {got}")
    summaries = summarize_arms(views, baseline=baseline, confidence=confidence)
    if title is None:
        title = f"reglab report: {study_name or Path(label).stem}"
    figures = build_figures(summaries)
    found = findings(summaries)
    notes = diverged_notes(source, study_name) + _notes(summaries, [f.id for f in figures])

    out = Path(out_dir)
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
        for fig in figures:
            write_atomic(out / "figures" / f"{fig.id}.png", fig.png)
        html_path, md_path = out / "report.html", out / "report.md"
        setup = setup_text(summaries)
        write_atomic(html_path, render_html(title, summaries, figures, found, notes=notes, setup=setup))
        write_atomic(md_path, render_markdown(title, summaries, figures, found, notes=notes,
                                        setup=setup))
    except OSError as exc:
        raise ReglabError(f"Cannot write the report to {str(out)!r}: {exc.strerror}. Expected a "
                         "writable directory. Received: --out "
                         f"{str(out)!r}") from None
    return Report(
        html_path=html_path,
        markdown_path=md_path,
        summaries=summaries,
        figure_ids=[f.id for f in figures],
        table=SummaryTable(summaries, title=title),
        findings=found,
    )

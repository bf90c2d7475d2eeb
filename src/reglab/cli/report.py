"""``reglab report``: the HTML + Markdown report of a run store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from reglab.cli.app import app, console


@app.command("report")
def report(
    store: Path = typer.Option(..., "--store", "-s", help="The run store (runs.sqlite) of a study or sweep."),
    out: Path = typer.Option(None, "--out", "-o", help="Output directory. Defaults to the store's directory."),
    study: str = typer.Option(None, "--study", help="Which study of the store (needed when it holds several)."),
    baseline: str = typer.Option(None, "--baseline", help="The reference arm for effects. Defaults to 'baseline' (or the arm without regularization)."),
    title: str = typer.Option(None, "--title", help="Report title. Defaults to 'reglab report: <study>'."),
) -> None:
    """Write report.html (self-contained) and report.md from a run store; print the summary table."""
    from reglab.report import build_report

    out_dir = out if out is not None else store.parent
    result = build_report(store, out_dir, study=study, baseline=baseline, title=title)
    console.print(result.table)
    console.print(escape(result.findings))
    console.print(f"Report: {escape(str(result.html_path))}  ({len(result.figure_ids)} figures)",
                  soft_wrap=True)
    console.print(f"        {escape(str(result.markdown_path))}", soft_wrap=True)

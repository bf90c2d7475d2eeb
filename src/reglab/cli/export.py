"""``reglab export``: send a finished study's runs to MLflow, TensorBoard or CSV files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from reglab.cli.app import app, console


@app.command("export")
def export(
    store: Path = typer.Argument(..., help="The run store (runs.sqlite) of a study or sweep."),
    to: str = typer.Option(..., "--to", help="Where to: mlflow, tensorboard or csv."),
    out: Path = typer.Option(None, "--out", "-o", help="Output folder. Defaults to <store's folder>/export-<to>."),
    study: str = typer.Option(None, "--study", help="Only this study of the store. Defaults to all."),
    tracking_uri: str = typer.Option(None, "--tracking-uri", help="MLflow: where to log. Defaults to sqlite:///<out>/mlflow.db."),
    experiment: str = typer.Option("reglab", "--experiment", help="MLflow: the experiment name."),
) -> None:
    """Export runs, parameters, per-epoch curves and diagnoses of finished studies."""
    from reglab.experiments.export import export_store

    out_dir = out if out is not None else store.parent / f"export-{to}"
    result = export_store(store, to, out_dir, study=study, tracking_uri=tracking_uri, experiment=experiment)
    console.print(f"Exported {result.runs} runs to {result.target}: {escape(result.where)}", soft_wrap=True)

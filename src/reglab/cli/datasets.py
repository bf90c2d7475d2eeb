"""``reglab datasets``: list the datasets ``reglab.data.load`` knows and what each needs;
``--inspect PATH`` shows what reglab reads from a file, folder or loader of one's own."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from reglab.cli.app import app, console


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _inspect(name: str, target: str | None, image_size: int | None, task: str | None) -> None:
    from reglab.data import inspect_data

    options = {k: v for k, v in (("target", target), ("image_size", image_size), ("task", task)) if v is not None}
    found = inspect_data(name, **options)
    sizes = found.sizes
    console.print(f"[bold]{escape(found.name)}[/bold]", soft_wrap=True)
    console.print(f"task: {found.task}   input shape: {_shape(found.input_shape)}   "
                  f"train / val / test: {sizes['train']} / {sizes['val']} / {sizes['test']}", soft_wrap=True)
    if found.classes:
        table = Table(title=f"{len(found.classes)} classes")
        for column in ("label", "class", "train", "val", "test"):
            table.add_column(column, justify="left" if column == "class" else "right")
        for i, (cls, *counts) in enumerate(found.classes):
            table.add_row(str(i), escape(cls), *(str(c) for c in counts))
        console.print(table)
    elif found.target is not None:
        lo, mean, hi = found.target
        console.print(f"training target: min {lo:.4g}, mean {mean:.4g}, max {hi:.4g}", soft_wrap=True)
    for note in found.notes:
        console.print(f"- {escape(note)}", soft_wrap=True)


@app.command("datasets")
def datasets(
    inspect: str = typer.Option(None, "--inspect", help="Show what reglab reads from PATH (or module:loader)."),
    target: str = typer.Option(None, "--target", help="Label column of a CSV/Parquet file."),
    image_size: int = typer.Option(None, "--image-size", help="Side images of an image folder are resized to (32)."),
    task: str = typer.Option(None, "--task", help="classification or regression (default: detected)."),
) -> None:
    """List every dataset: task, input shape, classes, train pool / test size, and what it needs."""
    if inspect is not None:
        _inspect(inspect, target, image_size, task)
        return
    from reglab.data import sources

    table = Table(title="reglab datasets")
    table.add_column("name", style="bold")
    table.add_column("task")
    table.add_column("input shape")
    table.add_column("classes", justify="right")
    table.add_column("train / test", justify="right")
    table.add_column("needs")
    table.add_column("description")
    for s in sources():
        classes = str(s.num_classes) if s.task == "classification" else "-"
        table.add_row(s.name, s.task, _shape(s.input_shape), classes, s.size, escape(s.needs), escape(s.description))
    console.print(table)

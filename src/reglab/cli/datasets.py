"""``reglab datasets``: list the datasets ``reglab.data.load`` knows and what each needs."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from reglab.cli.app import app, console


@app.command("datasets")
def datasets() -> None:
    """List every dataset: task, input shape, classes, train pool / test size, and what it needs."""
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
        shape = "(" + ", ".join(str(d) for d in s.input_shape) + ("," if len(s.input_shape) == 1 else "") + ")"
        classes = str(s.num_classes) if s.task == "classification" else "-"
        table.add_row(s.name, s.task, shape, classes, s.size, escape(s.needs), escape(s.description))
    console.print(table)

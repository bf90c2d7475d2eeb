"""``reglab techniques``: list the regularizers ``reglab.get`` can build."""

from __future__ import annotations

import inspect

from rich.table import Table

from reglab.cli.app import app, console


@app.command("techniques")
def techniques() -> None:
    """List every technique buildable by name (``reglab.get(name, ...)``) with its arguments."""
    from reglab.registry import available, lookup

    table = Table(title="reglab techniques")
    table.add_column("name", style="bold")
    table.add_column("class")
    table.add_column("arguments (defaults)")
    for name in available():
        cls = lookup(name)
        sig = inspect.signature(cls.__init__)
        args = ", ".join(
            f"{p.name}={p.default!r}" if p.default is not p.empty else p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )
        table.add_row(name, f"{cls.__module__}.{cls.__qualname__}", args)
    console.print(table)

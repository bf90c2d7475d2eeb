"""``reglab techniques``: list the technique definitions (``reglab.techniques``)."""

from __future__ import annotations

from rich.table import Table

from reglab.cli.app import app, console


def techniques_table() -> Table:
    """One row per technique: name (aliases), spec field, starting value and range, the range
    ``reglab tune`` searches, what it acts on, batched support, the ``reglab.get`` modules implementing it, and the paper."""
    from reglab.techniques import TECHNIQUES

    table = Table(title="reglab techniques")
    for column in ("name", "field", "start", "range", "tune", "acts on", "batched", "modules", "paper"):
        table.add_column(column, style="bold" if column == "name" else None)
    for t in TECHNIQUES.values():
        if t.field is None:  # composite arms (baseline, stack): `reglab study --list-techniques`
            continue
        name = t.name + (f" ({', '.join(t.aliases)})" if t.aliases else "")
        table.add_row(name, t.field, "" if t.default is None else repr(t.default),
                      t.range.expected() if t.range is not None else "",
                      t.tune.describe() if t.tune is not None else "", ", ".join(t.acts_on),
                      "yes" if t.vectorized else "no", ", ".join(t.modules), t.paper)
    return table


@app.command("techniques")
def techniques() -> None:
    """List every technique: its study-arm name, spec field, start value, range, tune range and paper.

    The modules named in the last columns are built with ``reglab.get(name, ...)``.
    """
    console.print(techniques_table())

"""``reglab datasets`` through typer's CliRunner."""

from __future__ import annotations

from typer.testing import CliRunner

from reglab.cli import app
from reglab.data import sources


def test_datasets_lists_every_dataset_and_what_it_needs() -> None:
    result = CliRunner().invoke(app, ["datasets"], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[1:-1]]
            for line in result.output.splitlines() if line.startswith("│")}
    assert list(rows) == [s.name for s in sources()]
    assert rows["mnist1d"][:6] == ["mnist1d", "classification", "(40,)", "10", "4000 / 1000", "nothing"]
    assert rows["digits"][:6] == ["digits", "classification", "(1, 8, 8)", "10", "1438 / 359", "nothing"]
    assert rows["diabetes"][:6] == ["diabetes", "regression", "(10,)", "-", "354 / 88", "nothing"]
    assert rows["mnist5k"][5] == "extra reglab[mnist5k]"
    assert rows["cifar10"][:6] == [
        "cifar10", "classification", "(3, 32, 32)", "10", "50000 / 10000",
        "download (extra reglab[vision]) or --data-dir",
    ]

"""``reglab techniques``: one row per technique definition, names as the study arms use them."""

from __future__ import annotations

from typer.testing import CliRunner

from reglab.cli import app
from reglab.cli.info import techniques_table
from reglab.registry import available
from reglab.techniques import TECHNIQUES


def _rows() -> dict[str, list[str]]:
    table = techniques_table()
    cells = [list(c.cells) for c in table.columns]
    return {row[0]: list(row[1:]) for row in zip(*cells)}


def test_rows_read_the_definitions():
    rows = _rows()
    assert list(rows)[:3] == ["dropout", "drop_path (stochastic_depth)", "weight_decay"]
    assert "baseline" not in rows and "stack" not in rows  # composite arms: study --list-techniques
    assert rows["input_noise (gaussian_noise)"] == [
        "input_noise", "0.1", "a finite number in [0, inf)", "[0.01, 1] log", "batch", "yes", "gaussian_noise",
        "Bishop 1995, Training with Noise is Equivalent to Tikhonov Regularization, Neural Computation 7(1)"]
    assert rows["cutmix"][:6] == ["cutmix_alpha", "1.0", "a finite number in [0, inf)", "[0.1, 2] log", "batch, loss", "no"]
    assert rows["early_stopping"][3] == "[5, 50] int"
    assert rows["ensemble_distillation"][3] == ""  # no search range
    assert len(rows) == sum(t.field is not None for t in TECHNIQUES.values())


def test_module_names_stay_reachable_with_reglab_get():
    modules = [m for t in TECHNIQUES.values() for m in t.modules]
    assert set(modules) <= set(available())


def test_command_prints_the_table():
    result = CliRunner().invoke(app, ["techniques"])
    assert result.exit_code == 0, result.output
    names = [t.name for t in TECHNIQUES.values() if t.field is not None]
    first_cells = [line.split("│")[1].split() for line in result.stdout.splitlines() if line.startswith("│")]
    assert [c[0] for c in first_cells if c and c[0] in names] == names  # one row each, in catalogue order

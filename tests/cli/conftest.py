"""CLI tests read rendered tables and lines: give the shared consoles one fixed, wide size.

Rich reads the terminal size (or ``COLUMNS``) at print time, which differs between a terminal, a
pytest-xdist worker and CI; a fixed width makes every CLI test see the same rendering.
"""

from __future__ import annotations

import importlib

import pytest

# `reglab.cli.app` the module, not the Typer object the package exports under the same name.
cli_app = importlib.import_module("reglab.cli.app")


@pytest.fixture(autouse=True)
def wide_console():
    saved = [(c, c._width, c._height) for c in (cli_app.console, cli_app.err_console)]
    for c, _, _ in saved:
        c.width, c.height = 220, 50
    yield
    for c, width, height in saved:
        c._width, c._height = width, height

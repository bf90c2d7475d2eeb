"""CLI tests read rendered tables and lines: give the shared consoles one fixed, wide size.

Rich reads the terminal size (or ``COLUMNS``) at print time, which differs between a terminal, a
pytest-xdist worker and CI; a fixed width makes every CLI test see the same rendering.

``scripted``: the report tests' scripted runs (``tests/report/scripted_runs.py``) for CLI tests
that need a run store.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

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


@pytest.fixture(scope="session")
def scripted():
    """``tests/report/scripted_runs.py``, loaded once under the name the report tests use."""
    name = "reglab_tests_scripted_runs"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "report" / "scripted_runs.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]

"""mypy checks a small user script against reglab's inline types (the ``py.typed`` marker)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import reglab

HERE = Path(__file__).parent


def test_the_package_ships_the_py_typed_marker():
    assert (Path(reglab.__file__).parent / "py.typed").is_file()
    pyproject = Path(reglab.__file__).parents[2] / "pyproject.toml"
    if pyproject.is_file():  # a source checkout: the marker is package data
        assert '"py.typed"' in pyproject.read_text()


@pytest.mark.slow  # ~60 s with a cold cache (torch's types), a few seconds with the repo's .mypy_cache
def test_mypy_accepts_the_user_script_and_catches_a_wrong_type(tmp_path):
    pytest.importorskip("mypy")
    bad = tmp_path / "bad_script.py"
    bad.write_text("from reglab.training import History\n\ndef f(h: History) -> str:\n    return h.best_epoch\n")
    src = Path(reglab.__file__).parents[1]
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "--no-error-summary", "--hide-error-context",
         "--cache-dir", str(HERE.parents[1] / ".mypy_cache"), str(HERE / "user_script.py"), str(bad)],
        capture_output=True, text=True, env={"MYPYPATH": str(src), "PATH": ""}, timeout=300,
    )
    # the script's folder differs per run (and mypy's shared cache may name an earlier one): drop it
    lines = [re.sub(r"^\S*/(bad_script\.py:)", r"\1", line) for line in proc.stdout.splitlines()]
    assert lines == [
        'bad_script.py:4: error: Incompatible return value type (got "int | None", expected "str")  [return-value]'
    ], proc.stdout + proc.stderr

"""The ``reglab`` command line. Thin: parse, call one library function, render.

Each command lives in its own module of this package and registers itself on :data:`app`.
Library errors (``ReglabError``, ``ValueError``) become one red line on stderr and exit code 2;
Ctrl-C becomes a one-line notice and exit code 130. Never a traceback.
"""

from __future__ import annotations

from reglab.cli.app import app, main

# Command modules: importing one registers its commands on `app`.
from reglab.cli import info  # noqa: E402,F401
from reglab.cli import study  # noqa: E402,F401
from reglab.cli import datasets  # noqa: E402,F401
from reglab.cli import lab  # noqa: E402,F401
from reglab.cli import report  # noqa: E402,F401
from reglab.cli import recommend  # noqa: E402,F401
from reglab.cli import uncertainty  # noqa: E402,F401
from reglab.cli import export  # noqa: E402,F401
from reglab.cli import tune  # noqa: E402,F401

__all__ = ["app", "main"]

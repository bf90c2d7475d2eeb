"""``package.module:loader``: a function of the user's that returns the data (as uvicorn takes
``module:app``).

The module is imported with the current directory on ``sys.path`` (so ``mydata:load`` finds
``./mydata.py``, as ``python -m`` would), then ``loader()`` is called with no arguments and its
result is read as :mod:`reglab.data.coerce` describes. A missing module or attribute, a loader
that raises and a result that is none of the accepted forms each stop with a message naming the
import string and what happened.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from reglab.data.arrays import UserData, prepare
from reglab.data.coerce import a_type, coerce
from reglab.errors import invalid_argument

__all__ = ["IMPORT_RE", "is_import_string", "resolve", "read_imported"]

IMPORT_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def is_import_string(text: str) -> bool:
    return bool(IMPORT_RE.match(text))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def resolve(text: str, *, argument: str = "data") -> Callable[..., Any]:
    """The object ``text`` (``"package.module:attr.sub"``) names."""
    module_name, _, attr_path = text.partition(":")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(invalid_argument(
            argument, "an import string 'package.module:loader' whose module can be imported", text,
            shown=f"{argument}={text!r} ({_first_line(exc)})")) from None
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            raise ValueError(invalid_argument(
                argument, f"an import string 'package.module:loader' naming an attribute of {module_name!r}",
                text, shown=f"{argument}={text!r} (module {module_name!r} has no attribute {part!r})"))
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(invalid_argument(argument, "an import string naming a callable loader", text,
                                          shown=f"{argument}={text!r} (it names {a_type(obj)})"))
    return obj


def read_imported(text: str, *, task: str | None = None, test_fraction: float = 0.2,
                  argument: str = "data") -> UserData:
    """Call the loader ``text`` names and read what it returns as user data.

    Args:
        text: ``"package.module:loader"``.
        task: ``"classification"``, ``"regression"`` or None (detected, or the ``Splits``'
            own task). Defaults to None.
        test_fraction: held out as the fixed test set when the loader returns no test split.
            Defaults to 0.2.
        argument: the argument named in error messages. Defaults to ``"data"``.
    """
    loader = resolve(text, argument=argument)
    try:
        value = loader()
    except Exception as exc:  # noqa: BLE001 - the user's code: any failure is reported, with its type
        raise ValueError(invalid_argument(argument, "a loader that returns the data", text,
                                          shown=f"{argument}={text!r} (it raised {_first_line(exc)})")) from None
    handed = coerce(value, argument=argument, source=f"{argument}={text!r} returned")
    return prepare(handed.parts, task=task or handed.task, test_fraction=test_fraction,
                   class_names=handed.class_names,
                   notes=(f"returned by the loader {text}.",) + handed.notes)

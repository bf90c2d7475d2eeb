"""``reglab lab``: a local web app whose demos train real models with reglab and stream them live.

:func:`create_app` builds the FastAPI application (see :mod:`reglab.lab.app` for its routes);
:func:`serve` runs it with uvicorn. Needs the ``lab`` extra (fastapi, uvicorn, plotly).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["create_app", "serve", "LabLimits"]

from reglab.lab.schemas import LabLimits


def create_app(limits: LabLimits | None = None, *, warm: bool = True, hosts: Iterable[str] | None = None) -> Any:
    """The FastAPI application; see :func:`reglab.lab.app.create_app`."""
    from reglab.lab.app import create_app as _create

    return _create(limits, warm=warm, hosts=hosts)


def serve(host: str = "127.0.0.1", port: int = 8000, *, limits: LabLimits | None = None,
          allow_hosts: Iterable[str] = (), log_level: str = "warning") -> None:
    """Serve the lab with uvicorn until interrupted. Binds 127.0.0.1 unless told otherwise.

    Args:
        host: interface to bind. Defaults to "127.0.0.1" (this machine only).
        port: TCP port. Defaults to 8000.
        limits: job limits. Defaults to ``LabLimits()``.
        allow_hosts: ``Host`` names answered besides the loopback names and ``host``
            (see :mod:`reglab.lab.guard`). Defaults to none.
        log_level: uvicorn's log level. Defaults to "warning".
    """
    import uvicorn

    from reglab.lab.guard import allowed_hosts

    uvicorn.run(create_app(limits, hosts=allowed_hosts(host, allow_hosts)), host=host, port=port,
                log_level=log_level)

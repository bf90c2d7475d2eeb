"""Check, before a server starts, that its host resolves and its port is free: one clear line
instead of the server's own log and exit code."""

from __future__ import annotations

import socket

from reglab.errors import invalid_argument

__all__ = ["check_bindable"]


def check_bindable(host: str, port: int) -> None:
    """Raise ``ValueError`` naming ``--host`` (it does not resolve) or ``--port`` (in use here).

    The probe binds and closes a socket with ``SO_REUSEADDR`` like uvicorn, so a port left in
    TIME_WAIT by a previous run is not reported as busy. Port 0 (any free port) always passes.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError):
        raise ValueError(invalid_argument("--host", "a host name or address this machine resolves", host)) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as exc:
            if port == 0:
                raise ValueError(invalid_argument("--host", f"an address of this machine ({exc.strerror})", host)) from None
            raise ValueError(invalid_argument("--port", f"a port free on {host}", port)) from None

"""The lab's request guard: Host and Origin checks, a body-size cap, and no NaN in JSON.

``reglab lab`` starts training on a ``POST``, so a page on another site must not be able to drive
it, and no request may make it hold unbounded data. :class:`RequestGuard` is a plain ASGI
middleware that runs before any route:

* **Host** (DNS rebinding): the ``Host`` header must name this machine's loopback names
  (``localhost``, ``127.0.0.1``, ``::1``), the address the server was bound to, or a name the user
  allowed with ``reglab lab --allow-host NAME``; anything else gets HTTP 400.
* **Origin** (cross-site requests): a state-changing request (anything but GET/HEAD/OPTIONS)
  whose ``Origin`` header is not this lab's own origin (same scheme-less ``host:port`` as the
  ``Host`` header) gets HTTP 403. Requests without ``Origin`` (curl, scripts) are allowed.
* **Body size**: a body over :data:`MAX_BODY_BYTES` gets HTTP 413 before it is read: at once
  from its ``Content-Length``, or, when streamed in chunks, as soon as the chunks read so far
  exceed the cap (at most the cap plus one chunk is ever held).
* **NaN/Infinity**: Python's ``json`` accepts the non-standard ``NaN``, ``Infinity`` and
  ``-Infinity``; a JSON body holding one gets HTTP 422 naming it.

Every refusal is one JSON object ``{"detail": message}`` (422: ``{"message", "detail"}`` like the
other validation errors) whose message follows :func:`reglab.errors.invalid_argument`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from reglab.errors import invalid_argument

__all__ = ["RequestGuard", "MAX_BODY_BYTES", "LOOPBACK_NAMES", "host_name", "is_loopback", "allowed_hosts"]

MAX_BODY_BYTES = 64 * 1024
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def host_name(host: str) -> str:
    """The name part of a ``Host`` header (or a bare name), lower case, without port or final dot:
    ``"LocalHost:8000"`` -> ``"localhost"``, ``"[::1]:8000"`` -> ``"::1"``."""
    host = host.strip().lower()
    if host.startswith("["):  # [IPv6]:port
        end = host.find("]")
        return host[1:end] if end > 0 else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    name = host_name(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def allowed_hosts(bound: str | None = None, extra: Iterable[str] = ()) -> frozenset[str]:
    """The ``Host`` names the lab answers: the loopback names, the bound address unless it is a
    wildcard (``0.0.0.0``, ``::``), and ``extra`` (``--allow-host``)."""
    names = set(LOOPBACK_NAMES)
    if bound and host_name(bound) not in ("0.0.0.0", "::", ""):
        names.add(host_name(bound))
    names.update(host_name(h) for h in extra if h.strip())
    return frozenset(names)


class RequestGuard:
    """ASGI middleware enforcing the Host, Origin, body-size and NaN rules of this module.

    Args:
        app: the ASGI application to guard.
        hosts: the allowed ``Host`` names (see :func:`allowed_hosts`).
        max_body: the largest request body accepted, in bytes. Defaults to
            :data:`MAX_BODY_BYTES` (64 KiB).
    """

    def __init__(self, app: Any, *, hosts: Iterable[str], max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.hosts = frozenset(hosts)
        self.max_body = max_body
        self._expected_host = "one of " + ", ".join(repr(h) for h in sorted(self.hosts)) + (
            " (start the lab with --allow-host NAME to answer another name)")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        host = headers.get("host", "")
        if host_name(host) not in self.hosts:
            await _reply(send, 400, invalid_argument("Host", self._expected_host, host, shown=f"Host={host!r}"))
            return
        method = scope.get("method", "GET")
        if method in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        origin = headers.get("origin")
        if origin is not None and not _same_origin(origin, host):
            await _reply(send, 403, invalid_argument(
                "Origin", f"this lab's own origin 'http://{host}' on a {method} request", origin,
                shown=f"Origin={origin!r}"))
            return
        length = headers.get("content-length")
        if length is not None:
            if not length.strip().isdigit():
                await _reply(send, 400, invalid_argument("Content-Length", "a whole number of bytes", length,
                                                         shown=f"Content-Length={length!r}"))
                return
            if int(length) > self.max_body:
                await _reply(send, 413, self._too_large(f"Content-Length={int(length)}"))
                return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await _reply(send, 413, self._too_large(f"more than {self.max_body} bytes streamed"))
                return
            more = bool(message.get("more_body", False))
        if body and "json" in headers.get("content-type", ""):
            constant = _non_finite_constant(bytes(body))
            if constant is not None:
                message_text = invalid_argument(
                    "body", "standard JSON numbers (NaN, Infinity and -Infinity are not JSON)", constant,
                    shown=f"a JSON body holding {constant}")
                await _reply(send, 422, {"message": message_text,
                                         "detail": [{"loc": ["body"], "msg": message_text, "type": "json_invalid"}]})
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self, shown: str) -> str:
        return invalid_argument("body", f"a request body of at most {self.max_body} bytes", None, shown=shown)


def _same_origin(origin: str, host: str) -> bool:
    parts = urlsplit(origin.strip())
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.strip().lower()


class _NonFinite(Exception):
    pass


def _non_finite_constant(body: bytes) -> str | None:
    """``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` when the JSON body holds one; None when it holds
    none or is not JSON at all (the route then answers its own 422)."""

    def refuse(name: str) -> Any:
        raise _NonFinite(name)

    try:
        json.loads(body, parse_constant=refuse)
    except _NonFinite as exc:
        return str(exc.args[0])
    except ValueError:
        return None
    return None


async def _reply(send: Send, status: int, content: Any) -> None:
    payload = content if isinstance(content, dict) else {"detail": content}
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})

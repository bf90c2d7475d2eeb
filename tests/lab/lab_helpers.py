"""Helpers of the lab tests: SSE parsing, TestClients with limits, a live uvicorn server.

(Kept out of ``conftest.py`` so tests can import them by a name no other test folder uses.)
"""

from __future__ import annotations

import json
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

with warnings.catch_warnings():  # starlette suggests httpx2 for its TestClient; httpx works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from reglab.lab import LabLimits, create_app


def parse_sse(lines: Iterator[str]) -> Iterator[tuple[str, int | None, dict[str, Any]]]:
    """Yield ``(event, id, data)`` for each event of an SSE line stream."""
    event, ident, data = "message", None, []
    for line in lines:
        if line == "":
            if data:
                yield event, ident, json.loads("\n".join(data))
            event, ident, data = "message", None, []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "id":
                ident = int(value)
            elif field == "data":
                data.append(value)


def run_job(client: Any, demo: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """POST a job, follow its events to the end, return ``[(event, data), ...]``."""
    resp = client.post("/api/jobs", json={"demo": demo, "params": params})
    assert resp.status_code == 201, resp.text
    with client.stream("GET", resp.json()["events"]) as stream:
        return [(name, data) for name, _, data in parse_sse(stream.iter_lines())]


#: The TestClients' base URL: a loopback Host, the only kind the lab answers by default.
BASE_URL = "http://127.0.0.1:8000"


def make_client(**limits: Any) -> TestClient:
    return TestClient(create_app(LabLimits(**limits), warm=False), base_url=BASE_URL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving the lab in a daemon thread; ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, limits: LabLimits) -> None:
        import uvicorn

        self.app = create_app(limits)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="lab-live-server", daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the lab's uvicorn server did not start within 30 s")
            time.sleep(0.02)
        if not self.app.state.warmed.wait(60):  # imports done, so the first job starts at once
            raise RuntimeError("the lab's warm-up did not finish within 60 s")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    @property
    def jobs(self) -> Any:
        return self.app.state.jobs


#: Where browser tests write their screenshots (look at them).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "lab"


class PageProbe:
    """A browser page that records console errors and uncaught exceptions."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda msg: self.errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

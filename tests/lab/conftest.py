"""Fixtures of the lab tests: an in-process TestClient, a live uvicorn server, headless Chromium.

The live server runs uvicorn in a background thread on a free loopback port for the whole
session. Browser tests drive Debian's ``/usr/bin/chromium`` through Playwright; they skip when it
is missing, except under ``CI=true`` where a missing browser is a failure.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")

with warnings.catch_warnings():  # starlette suggests httpx2 for its TestClient; httpx works
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient  # noqa: E402

from lab_helpers import BASE_URL, LiveServer, PageProbe  # noqa: E402

from reglab.lab import LabLimits, create_app  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A TestClient over a fresh app (default limits, no warm-up thread)."""
    with TestClient(create_app(warm=False), base_url=BASE_URL) as c:
        yield c


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    server = LiveServer(LabLimits(max_jobs=8)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {CHROMIUM} is missing: browser tests cannot run")
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium to run the browser tests)")
    sync_api = pytest.importorskip("playwright.sync_api")
    pw = sync_api.sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()
    finally:
        pw.stop()


@pytest.fixture
def probe(browser: Any, live_server: LiveServer) -> Iterator[PageProbe]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield PageProbe(page)
    finally:
        context.close()

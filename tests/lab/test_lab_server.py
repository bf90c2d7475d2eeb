"""The lab over real HTTP (uvicorn on a loopback port): disconnects cancel jobs, streams in parallel."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from lab_helpers import LiveServer, parse_sse

from reglab.lab import LabLimits


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_closing_the_stream_cancels_the_job(live_server):
    with httpx.Client(base_url=live_server.url, timeout=30) as c:
        job = c.post("/api/jobs", json={"demo": "overfit", "params": {"epochs": 500}}).json()
        seen = []
        with c.stream("GET", job["events"]) as s:
            for name, _, data in parse_sse(s.iter_lines()):
                seen.append(name)
                if name == "epoch" and data["epoch"] == 2:
                    break  # the page goes away
        assert seen == ["start", "epoch", "epoch"]
        wait_for(lambda: c.get(f"/api/jobs/{job['id']}").json()["state"] == "cancelled")
        events = live_server.jobs.get(job["id"]).events_since(0)
        assert events[-1][0] == "cancelled"
        assert events[-1][1]["history"]["stop_reason"] == "Cancelled: the page went away or the job was stopped."
        assert len(events[-1][1]["history"]["epoch"]) < 500


def test_twenty_concurrent_streams():
    """20 pages training at once (a server allowing 20 jobs): every stream completes, no errors."""
    server = LiveServer(LabLimits(max_jobs=20)).start()
    results: list = [None] * 20

    def page(i: int) -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=60) as c:
                resp = c.post("/api/jobs", json={"demo": "overfit",
                                                 "params": {"epochs": 4, "seed": i, "width": 16, "depth": 1}})
                resp.raise_for_status()
                with c.stream("GET", resp.json()["events"]) as s:
                    results[i] = [name for name, _, _ in parse_sse(s.iter_lines())]
        except Exception as exc:  # recorded, asserted below
            results[i] = exc

    try:
        threads = [threading.Thread(target=page, args=(i,)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert results == [["start", "epoch", "epoch", "epoch", "epoch", "done"]] * 20
        wait_for(lambda: server.jobs.running == 0)
    finally:
        server.stop()


def test_cli_lab_command_serves_on_loopback(monkeypatch):
    from typer.testing import CliRunner

    import reglab.lab
    from reglab.cli import app

    calls = []
    monkeypatch.setattr(reglab.lab, "serve",
                        lambda host, port, limits, allow_hosts: calls.append((host, port, limits, allow_hosts)))
    result = CliRunner().invoke(app, ["lab", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert result.output == "reglab lab: open http://127.0.0.1:8123/ (Ctrl-C to stop)\n"
    assert calls == [("127.0.0.1", 8123, LabLimits(max_jobs=4), ())]
    result = CliRunner().invoke(app, ["lab", "--max-jobs", "0"])
    assert result.exit_code == 2
    assert "Invalid value for '--max-jobs': Input should be greater than or equal to 1" in result.output
    assert len(calls) == 1


def test_cli_lab_warns_in_one_line_when_binding_beyond_loopback(monkeypatch):
    from typer.testing import CliRunner

    import reglab.lab
    from reglab.cli import app

    calls = []
    monkeypatch.setattr(reglab.lab, "serve",
                        lambda host, port, limits, allow_hosts: calls.append((host, allow_hosts)))
    result = CliRunner().invoke(app, ["lab", "--host", "0.0.0.0", "--port", "8123", "--allow-host", "lab.school.lan",
                                      "--allow-host", "10.0.0.7"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Warning: --host 0.0.0.0 is not a loopback address: anyone who can reach port 8123 of this machine can "
        "start training jobs (--host 127.0.0.1 keeps the lab local).",
        "reglab lab: open http://0.0.0.0:8123/ (Ctrl-C to stop)",
    ]
    assert calls == [("0.0.0.0", ("lab.school.lan", "10.0.0.7"))]
    for host in ("localhost", "127.0.0.2", "::1"):
        result = CliRunner().invoke(app, ["lab", "--host", host])
        assert "Warning" not in result.output


def test_live_server_refuses_a_foreign_host_header(live_server):
    resp = httpx.post(live_server.url + "/api/jobs", json={"demo": "overfit"}, headers={"Host": "evil.example"},
                      timeout=10)
    assert resp.status_code == 400
    assert resp.json()["detail"].endswith("Received: Host='evil.example'")
    assert live_server.jobs.running == 0


def test_live_server_refuses_a_large_body_before_reading_it(live_server):
    """A streamed body of 8 MiB is cut off after the first chunks over the cap: 413 arrives
    while most of the body was never sent."""
    sent = []

    def body():
        for _ in range(128):
            sent.append(1)
            yield b"x" * 65536

    resp = httpx.post(live_server.url + "/api/jobs", content=body(), headers={"Content-Type": "text/plain"},
                      timeout=10)
    assert resp.status_code == 413
    assert resp.json() == {"detail": "Invalid value for argument `body`. Expected a request body of at most 65536 "
                                     "bytes. Received: more than 65536 bytes streamed"}
    assert len(sent) < 128


@pytest.mark.parametrize("path", ["/", "/overfit", "/api/health", "/openapi.json"])
def test_live_server_answers(live_server, path):
    assert httpx.get(live_server.url + path, timeout=10).status_code == 200

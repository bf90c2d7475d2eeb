"""The lab's request guard (reglab.lab.guard): Host, Origin, body size and NaN, and the byte-bounded
retention of finished jobs (reglab.lab.jobs)."""

from __future__ import annotations

import pytest

from lab_helpers import make_client, run_job

from reglab.lab import create_app
from reglab.lab.guard import allowed_hosts, host_name, is_loopback

HOST_EXPECTED = ("Expected one of '127.0.0.1', '::1', 'localhost' (start the lab with --allow-host NAME to "
                 "answer another name).")


@pytest.mark.parametrize("header, name", [
    ("LocalHost:8000", "localhost"), ("[::1]:8000", "::1"), ("127.0.0.1", "127.0.0.1"), ("lab.lan.", "lab.lan"),
    ("::1", "::1"),
])
def test_host_name(header, name):
    assert host_name(header) == name


def test_allowed_hosts_and_loopback():
    assert allowed_hosts() == {"localhost", "127.0.0.1", "::1"}
    assert allowed_hosts("0.0.0.0", ["Lab.School.Lan"]) == {"localhost", "127.0.0.1", "::1", "lab.school.lan"}
    assert allowed_hosts("192.168.1.5") == {"localhost", "127.0.0.1", "::1", "192.168.1.5"}
    assert [is_loopback(h) for h in ("localhost", "127.0.0.9", "::1", "0.0.0.0", "192.168.1.5", "lab.lan")] == [
        True, True, True, False, False, False]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "", "0.0.0.0:8000"])
def test_foreign_host_header_is_refused_before_any_route(client, host):
    for resp in (client.get("/api/health", headers={"Host": host}),
                 client.post("/api/jobs", json={"demo": "overfit"}, headers={"Host": host})):
        assert resp.status_code == 400
        assert resp.json() == {"detail": f"Invalid value for argument `Host`. {HOST_EXPECTED} Received: Host={host!r}"}
    assert client.app.state.jobs.running == 0


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST"])
def test_loopback_host_headers_are_answered(client, host):
    assert client.get("/api/health", headers={"Host": host}).status_code == 200


def test_allowed_host_is_answered():
    from fastapi.testclient import TestClient

    with TestClient(create_app(warm=False, hosts=allowed_hosts("0.0.0.0", ["lab.school.lan"])),
                    base_url="http://lab.school.lan:8000") as c:
        assert c.get("/api/health").status_code == 200
        assert c.get("/api/health", headers={"Host": "other.lan"}).status_code == 400


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:9999", "null", "file://",
                                    "http://localhost:8000"])
def test_foreign_origin_on_a_state_changing_request_is_forbidden(client, origin):
    resp = client.post("/api/jobs", json={"demo": "overfit"}, headers={"Origin": origin})
    assert resp.status_code == 403
    assert resp.json() == {"detail": "Invalid value for argument `Origin`. Expected this lab's own origin "
                                     f"'http://127.0.0.1:8000' on a POST request. Received: Origin={origin!r}"}
    resp = client.delete("/api/jobs/0123456789ab", headers={"Origin": origin})
    assert resp.status_code == 403
    assert client.app.state.jobs.running == 0


def test_own_origin_and_no_origin_are_allowed(client):
    body = {"demo": "overfit", "params": {"epochs": 2}}
    assert client.post("/api/code", json=body, headers={"Origin": "http://127.0.0.1:8000"}).status_code == 200
    assert client.post("/api/code", json=body).status_code == 200
    # reading is allowed from anywhere (a GET cannot start training)
    assert client.get("/api/health", headers={"Origin": "http://evil.example"}).status_code == 200


def test_body_over_the_cap_is_refused_from_its_content_length(client):
    resp = client.post("/api/jobs", content=b"x" * 70_000, headers={"Content-Type": "text/plain"})
    assert resp.status_code == 413
    assert resp.json() == {"detail": "Invalid value for argument `body`. Expected a request body of at most 65536 "
                                     "bytes. Received: Content-Length=70000"}


def test_streamed_body_over_the_cap_is_refused_without_reading_the_rest(client):
    chunks = []

    def body():
        for _ in range(1000):  # 1000 x 1 KiB offered
            chunks.append(1)
            yield b"x" * 1024

    resp = client.post("/api/jobs", content=body(), headers={"Content-Type": "application/json"})
    assert resp.status_code == 413
    assert resp.json()["detail"].endswith("Received: more than 65536 bytes streamed")


def test_body_at_the_cap_is_read():
    with make_client() as c:
        padding = " " * (65536 - len('{"demo": "overfit", "params": {"epochs": 2}}'))
        body = ('{"demo": "overfit", "params": {"epochs": 2}}' + padding).encode()
        assert len(body) == 65536
        assert c.post("/api/code", content=body, headers={"Content-Type": "application/json"}).status_code == 200


def test_bad_content_length_is_refused(client):
    resp = client.post("/api/code", content=b"{}", headers={"Content-Type": "application/json", "Content-Length": "-5"})
    assert resp.status_code == 400


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_json_are_422(client, constant):
    for path, body in (("/api/jobs", '{"demo": "overfit", "params": {"label_noise": %s}}'),
                       ("/api/code", '{"demo": "overfit", "params": {"lr": %s}}')):
        resp = client.post(path, content=(body % constant).encode(), headers={"Content-Type": "application/json"})
        assert resp.status_code == 422
        assert resp.json()["message"] == ("Invalid value for argument `body`. Expected standard JSON numbers (NaN, "
                                          f"Infinity and -Infinity are not JSON). Received: a JSON body holding "
                                          f"{constant}")
    assert client.get("/api/health").status_code == 200  # the connection and the server are fine


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_and_infinity_in_a_query_are_422(client, value):
    resp = client.get("/api/mix/sample", params={"alpha": value})
    assert resp.status_code == 422
    assert resp.json()["message"] == "alpha: Input should be a finite number"


# -- byte-bounded retention ---------------------------------------------------------------------------
def test_finished_job_keeps_only_its_last_heatmap():
    with make_client() as c:
        events = run_job(c, "overfit", {"epochs": 6, "boundary_every": 1, "train_size": 60, "width": 8, "depth": 1})
        assert sum("boundary" in d for n, d in events if n == "epoch") == 6  # the live stream had all six
        job_id = c.get("/api/health")  # noqa: F841 (the stream above has ended: the job is compacted)
        job = next(iter(c.app.state.jobs._jobs.values()))
        kept = job.events_since(0)
        assert [("boundary" in d) for n, d in kept if n == "epoch"] == [False] * 5 + [True]
        assert [d for n, d in kept if n == "epoch"][-1]["boundary"] == [d for n, d in events if n == "epoch"][-1][
            "boundary"]
        for (n1, d1), (n2, d2) in zip(kept, events):  # everything else is unchanged
            d2 = {k: v for k, v in d2.items() if k != "boundary" or "boundary" in d1}
            assert (n1, d1) == (n2, d2)
        assert job.nbytes == sum(len(t) for _, t in job.raw_since(0))


def test_twin_demo_keeps_the_last_heatmap_of_each_arm():
    with make_client() as c:
        run_job(c, "weight_decay", {"epochs": 4, "boundary_every": 1, "train_size": 60, "width": 8, "depth": 1})
        job = next(iter(c.app.state.jobs._jobs.values()))
        frames = [(d["arm"], d["epoch"]) for n, d in job.events_since(0) if n == "epoch" and "boundary" in d]
        assert sorted(frames) == [("baseline", 4), ("regularized", 4)]


def test_finished_jobs_are_forgotten_beyond_keep_bytes():
    params = {"epochs": 3, "boundary_every": 1, "train_size": 60, "width": 8, "depth": 1}
    with make_client(keep_bytes=45_000) as c:
        manager = c.app.state.jobs
        ids = []
        for seed in range(6):
            ids.append(c.post("/api/jobs", json={"demo": "overfit", "params": {**params, "seed": seed}}).json()["id"])
            with c.stream("GET", f"/api/jobs/{ids[-1]}/events") as s:
                list(s.iter_lines())
            sizes = [j.nbytes for j in manager._jobs.values()]
            assert ids[-1] in manager._jobs  # the newest is always kept
            assert sum(sizes[:-1]) <= 45_000
        assert 2 <= len(manager._jobs) < 6  # some were forgotten

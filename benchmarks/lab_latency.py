"""Latency of the lab's training streams: first streamed point, and 20 concurrent streams.

Starts ``reglab lab``'s app with uvicorn in a subprocess on a free 127.0.0.1 port (allowing 20
jobs), waits for its warm-up, then measures from this process with httpx:

1. first point: time from ``POST /api/jobs`` (overfit demo, default settings, then with the
   regularized twin training beside the plain model) to the first ``epoch`` event of its stream,
   for each 2-D toy set; median of ``--repeats`` runs;
2. load: 20 pages at once, each starting a job (overfit on moons, ``--epochs`` epochs) and
   reading its stream to the end; reports errors, the median/max first-point latency and the
   wall time.

3. retention (``--retention N``): N overfit jobs one after another with a heatmap every epoch
   (``boundary_every=1``, ``--retention-epochs`` epochs, weight-decay twins every other job); prints
   the server's resident memory (RSS, from /proc) and the bytes of event text it retains
   (``GET /api/health``) before and after.

Usage: ``python benchmarks/lab_latency.py [--repeats 5] [--streams 20] [--epochs 30] [--retention 66]``.
Talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def first_point(client: httpx.Client, params: dict) -> tuple[float, float, int, str]:
    """(seconds to the first epoch event, seconds to the end, epochs seen, final event)."""
    t0 = time.perf_counter()
    resp = client.post("/api/jobs", json={"demo": "overfit", "params": params})
    resp.raise_for_status()
    first = None
    epochs = 0
    last = ""
    with client.stream("GET", resp.json()["events"]) as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                last = line[7:]
                if last == "epoch":
                    epochs += 1
                    if first is None:
                        first = time.perf_counter() - t0
    return first if first is not None else float("nan"), time.perf_counter() - t0, epochs, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--retention", type=int, default=0, help="jobs of the retention check (0: skip it)")
    parser.add_argument("--retention-epochs", type=int, default=100)
    args = parser.parse_args()

    port = free_port()
    env = dict(os.environ, REGLAB_LAB_MAX_JOBS=str(args.streams))
    t_start = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "reglab.lab.app:app_from_env",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            while True:
                try:
                    if client.get("/api/health").json()["warm"]:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None:
                    raise SystemExit("the lab server exited")
                time.sleep(0.05)
            print(f"server start + warm-up: {time.perf_counter() - t_start:.2f} s")

            for title, extra in (("default settings", {}),
                                 ("with the regularized twin: dropout 0.3", {"dropout": 0.3})):
                print(f"\nfirst streamed point after POST /api/jobs (overfit, {title}; median of {args.repeats})")
                for dataset in ("moons", "circles", "spirals", "xor", "blobs"):
                    times = [first_point(client, {"dataset": dataset, "epochs": 2, "seed": r, **extra})[0]
                             for r in range(args.repeats)]
                    print(f"  {dataset:8s} median {1000 * statistics.median(times):7.1f} ms   "
                          f"max {1000 * max(times):7.1f} ms")

        print(f"\n{args.streams} concurrent streams (overfit on moons, {args.epochs} epochs each)")
        results: list = [None] * args.streams

        def page(i: int) -> None:
            try:
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as c:
                    results[i] = first_point(c, {"epochs": args.epochs, "seed": i})
            except Exception as exc:  # counted as an error below
                results[i] = exc

        t0 = time.perf_counter()
        threads = [threading.Thread(target=page, args=(i,)) for i in range(args.streams)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        errors = [r for r in results if isinstance(r, Exception) or r[3] != "done" or r[2] != args.epochs]
        ok = [r for r in results if not isinstance(r, Exception)]
        firsts = [r[0] for r in ok]
        print(f"  completed: {len(ok) - len([e for e in errors if not isinstance(e, Exception)])}"
              f"/{args.streams}   errors: {len(errors)}")
        if firsts:
            print(f"  first point: median {1000 * statistics.median(firsts):.0f} ms, max {1000 * max(firsts):.0f} ms")
            print(f"  whole stream: median {statistics.median(r[1] for r in ok):.2f} s, "
                  f"max {max(r[1] for r in ok):.2f} s; wall {wall:.2f} s for "
                  f"{args.streams * args.epochs} epochs")
        print(json.dumps({"errors": [repr(e) for e in errors][:3]}))
        if args.retention:
            retention(port, server.pid, args.retention, args.retention_epochs)
    finally:
        server.terminate()
        server.wait(10)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def retention(port: int, pid: int, jobs: int, epochs: int) -> None:
    """Run ``jobs`` jobs with a heatmap every epoch; print RSS and retained bytes before/after."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
        before = rss_mb(pid), client.get("/api/health").json()["retained_bytes"]
        streamed = 0
        t0 = time.perf_counter()
        for i in range(jobs):
            demo = "weight_decay" if i % 2 else "overfit"
            resp = client.post("/api/jobs", json={"demo": demo, "params": {
                "epochs": epochs, "boundary_every": 1, "seed": i}})
            resp.raise_for_status()
            with client.stream("GET", resp.json()["events"]) as stream:
                for chunk in stream.iter_bytes():
                    streamed += len(chunk)
        after = rss_mb(pid), client.get("/api/health").json()["retained_bytes"]
    print(f"\nretention: {jobs} jobs (overfit / weight_decay alternating, {epochs} epochs, a heatmap every "
          f"epoch), {streamed / 2**20:.1f} MiB streamed in {time.perf_counter() - t0:.0f} s")
    print(f"  server RSS      before {before[0]:8.1f} MiB   after {after[0]:8.1f} MiB")
    print(f"  retained bytes  before {before[1] / 2**20:8.2f} MiB   after {after[1] / 2**20:8.2f} MiB")


if __name__ == "__main__":
    main()

"""Latency of the lab's training streams: first streamed point, and 20 concurrent streams.

Starts ``reglab lab``'s app with uvicorn in a subprocess on a free 127.0.0.1 port (allowing 20
jobs), waits for its warm-up, then measures from this process with httpx:

1. first point: time from ``POST /api/jobs`` (overfit demo, default settings) to the first
   ``epoch`` event of its stream, for each 2-D toy set; median of ``--repeats`` runs;
2. load: 20 pages at once, each starting a job (overfit on moons, ``--epochs`` epochs) and
   reading its stream to the end; reports errors, the median/max first-point latency and the
   wall time.

Usage: ``python benchmarks/lab_latency.py [--repeats 5] [--streams 20] [--epochs 30]``.
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

            print(f"\nfirst streamed point after POST /api/jobs (overfit, default settings; "
                  f"median of {args.repeats})")
            for dataset in ("moons", "circles", "spirals", "xor", "blobs"):
                times = [first_point(client, {"dataset": dataset, "epochs": 2, "seed": r})[0]
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
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()

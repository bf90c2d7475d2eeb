"""Reading Server-Sent Events in the lab tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


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

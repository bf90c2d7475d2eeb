"""The lab's FastAPI application: pages, a small JSON API per demo, and training event streams.

Routes (the OpenAPI schema is at ``/openapi.json``, the interactive docs at ``/docs`` and
``/redoc``, served with their scripts from this machine, no CDN):

* ``GET /`` the home page; ``GET /overfit``, ``/dropout``, ``/weight-decay``, ``/early-stopping``,
  ``/mixup`` the demo pages; ``GET /static/...`` their CSS/JS; ``GET /vendor/plotly.min.js``
  plotly.js from the installed ``plotly`` package.
* ``GET /api/health``, ``GET /api/limits``, ``GET /api/demos`` (defaults and limits of each demo).
* ``POST /api/jobs`` ``{"demo": ..., "params": {...}}`` starts a training job (201), 422 on
  invalid params, 400 when the data cannot be built as asked, 429 when ``max_jobs`` already run.
* ``GET /api/jobs/{id}`` its state; ``POST /api/jobs/{id}/control`` ``{"action": "pause" | "resume" | "step"}``;
  ``GET /api/jobs/{id}/events`` its Server-Sent Events
  (replayed from the start, or from ``Last-Event-ID``); ``DELETE /api/jobs/{id}`` cancels it.
  A job is also cancelled when its event stream's client disconnects.
* ``GET /api/dropout/mask`` real dropout masks; ``GET /api/mix/sample`` mixup/CutMix and
  label smoothing on two digits; ``POST /api/code`` the "copy as code" snippet.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException, Path as PathParam, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.sse import EventSourceResponse, format_sse_event
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import ValidationError

from reglab.errors import ReglabError
from reglab.lab import codegen
from reglab.lab.guard import RequestGuard, allowed_hosts
from reglab.lab.jobs import TERMINAL, Job, JobLimitError, JobManager, JobNotFoundError
from reglab.lab.schemas import (
    AugmentQuery,
    PARAMS_BY_DEMO,
    CodeRequest,
    DropoutMaskQuery,
    JobControl,
    JobCreated,
    JobRequest,
    JobStatus,
    LabLimits,
    MixQuery,
)

__all__ = ["create_app", "PAGES", "plotly_js_path"]

PAGES = {
    "": "index.html",
    "overfit": "overfit.html",
    "dropout": "dropout.html",
    "weight-decay": "weight-decay.html",
    "early-stopping": "early-stopping.html",
    "mixup": "mixup.html",
    "mc-dropout": "mc-dropout.html",
    "label-smoothing": "label-smoothing.html",
    "stochastic-depth": "stochastic-depth.html",
    "augmentation": "augmentation.html",
    "distillation": "distillation.html",
    "quiz": "quiz.html",
}
POLL_SECONDS = 0.02  # how often an idle event stream looks for new events
JOB_ID = Annotated[str, PathParam(pattern=r"^[0-9a-f]{12}$", description="a job id from POST /api/jobs")]


def static_dir() -> Path:
    return Path(str(resources.files("reglab.lab") / "static"))


def plotly_js_path() -> Path:
    """``plotly/package_data/plotly.min.js`` of the installed ``plotly`` package."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _error_message(errors: list[dict[str, Any]]) -> str:
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts)


def warm_up() -> None:
    """Train one tiny job through the overfit demo's code, so the first real job starts at once.

    A cold start pays for importing scikit-learn (the toy sets), the Trainer, the optimizer and the
    analysis module, and for PyTorch's first calls: seconds on a small machine. The server does
    this in a background thread at startup (``GET /api/health`` reports ``warm`` when done).
    """
    import torch

    from reglab.lab.demos import overfit
    from reglab.lab.schemas import OverfitParams

    torch.set_num_threads(1)
    params = OverfitParams(train_size=20, width=4, depth=1, epochs=2, boundary_every=1)
    overfit.prepare(params)(Job("overfit", params.model_dump(), unwatched_timeout=float("inf")))


def create_app(limits: LabLimits | None = None, *, warm: bool = True,
               hosts: Iterable[str] | None = None) -> FastAPI:
    """Build the lab application with its own job manager, behind :class:`~reglab.lab.guard.RequestGuard`.

    Args:
        limits: job limits. Defaults to ``LabLimits()`` (4 concurrent jobs).
        warm: import the training stack in a background thread at startup (:func:`warm_up`).
            Defaults to True.
        hosts: the ``Host`` names answered. Defaults to the loopback names
            (:func:`reglab.lab.guard.allowed_hosts`).
    """
    manager = JobManager(limits)
    warmed = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            def run() -> None:
                warm_up()
                warmed.set()

            threading.Thread(target=run, name="reglab-lab-warmup", daemon=True).start()
        yield
        manager.cancel_all()

    # The interactive docs (/docs, /redoc) load Swagger UI / ReDoc from the installed
    # fastapi-offline package instead of a CDN: the lab runs on machines without internet.
    app = FastAPIOffline(
        title="reglab lab",
        version=_version(),
        summary="Interactive regularization demos that train real PyTorch models with reglab.",
        lifespan=lifespan,
    )
    app.state.jobs = manager
    app.state.warmed = warmed
    app.add_middleware(RequestGuard, hosts=allowed_hosts() if hosts is None else hosts)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{k: v for k, v in e.items() if k != "url"} for e in exc.errors()]
        return JSONResponse(
            status_code=422,
            content=json.loads(json.dumps({"message": _error_message(errors), "detail": errors}, default=str)),
        )

    # -- pages ----------------------------------------------------------------------------------
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")

    def page_route(filename: str) -> Any:
        async def page() -> FileResponse:
            return FileResponse(static_dir() / filename, media_type="text/html")

        return page

    for slug, filename in PAGES.items():
        app.add_api_route("/" + slug, page_route(filename), methods=["GET"], include_in_schema=False,
                          name=f"page-{slug or 'home'}")

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    async def plotly_js() -> FileResponse:
        path = plotly_js_path()
        if not path.is_file():
            raise HTTPException(500, f"plotly.js was not found at {path}; install the 'plotly' package.")
        return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    # -- service --------------------------------------------------------------------------------
    @app.get("/api/health", tags=["service"])
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": _version(), "jobs_running": manager.running,
                "max_jobs": manager.limits.max_jobs, "warm": warmed.is_set(),
                "retained_bytes": manager.retained_bytes}

    @app.get("/api/limits", tags=["service"])
    async def get_limits() -> dict[str, Any]:
        return manager.limits.to_dict()

    @app.get("/api/demos", tags=["service"])
    async def demos() -> dict[str, Any]:
        """Each training demo's default parameters and JSON schema (ranges = limits)."""
        return {name: {"defaults": cls().model_dump(mode="json"), "schema": cls.model_json_schema()}
                for name, cls in PARAMS_BY_DEMO.items()}

    # -- jobs -----------------------------------------------------------------------------------
    @app.post("/api/jobs", status_code=201, response_model=JobCreated, tags=["jobs"],
              responses={400: {"description": "the data or model cannot be built with these settings"},
                         429: {"description": "too many training jobs are running"}})
    def create_job(request: Annotated[JobRequest, Body()]) -> JobCreated:
        from reglab.lab.demos import PREPARERS

        try:
            job = manager.submit(request.demo, request.params, PREPARERS[request.demo])
        except JobLimitError as exc:
            raise HTTPException(429, str(exc)) from None
        except (ValueError, ReglabError) as exc:
            raise HTTPException(400, str(exc)) from None
        return JobCreated(id=job.id, demo=job.demo, params=job.params, events=f"/api/jobs/{job.id}/events")

    def find(job_id: str) -> Job:
        try:
            return manager.get(job_id)
        except JobNotFoundError as exc:
            raise HTTPException(404, str(exc)) from None

    @app.get("/api/jobs/{job_id}", response_model=JobStatus, tags=["jobs"])
    async def job_status(job_id: JOB_ID) -> JobStatus:
        return JobStatus(**find(job_id).status())

    @app.delete("/api/jobs/{job_id}", response_model=JobStatus, tags=["jobs"])
    async def cancel_job(job_id: JOB_ID) -> JobStatus:
        job = find(job_id)
        job.cancel()
        return JobStatus(**job.status())

    @app.post("/api/jobs/{job_id}/control", response_model=JobStatus, tags=["jobs"])
    async def control_job(job_id: JOB_ID, request: JobControl) -> JobStatus:
        """Pause the job after its current epoch, resume it, or let it train exactly one more epoch."""
        job = find(job_id)
        job.control(request.action)
        return JobStatus(**job.status())

    @app.get("/api/jobs/{job_id}/events", tags=["jobs"], response_model=None,
             responses={200: {"content": {"text/event-stream": {}},
                              "description": "start, epoch..., then done | error | cancelled"}})
    async def job_events(job_id: JOB_ID, request: Request) -> EventSourceResponse:
        job = find(job_id)
        last = request.headers.get("last-event-id", "")
        start = int(last) + 1 if last.isdigit() else 0
        job.subscribe()
        return EventSourceResponse(
            _stream(job, request, start), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    # -- demos without training -----------------------------------------------------------------
    @app.get("/api/dropout/mask", tags=["demos"])
    def dropout_mask(q: Annotated[DropoutMaskQuery, Query()]) -> dict[str, Any]:
        from reglab.lab.demos.dropout import mask_payload

        return mask_payload(q)

    @app.get("/api/mix/sample", tags=["demos"])
    def mix_sample(q: Annotated[MixQuery, Query()]) -> dict[str, Any]:
        from reglab.lab.demos.mixing import mix_payload

        try:
            return mix_payload(q)
        except (ValueError, ReglabError) as exc:
            raise HTTPException(400, str(exc)) from None

    @app.get("/api/augment/sample", tags=["demos"])
    def augment_sample(q: Annotated[AugmentQuery, Query()]) -> dict[str, Any]:
        """Training samples of a built-in set beside augmented copies (one draw per sample)."""
        from reglab.lab.demos.augment_view import augment_payload

        try:
            return augment_payload(q)
        except (ValueError, ReglabError) as exc:
            raise HTTPException(400, str(exc)) from None

    @app.post("/api/code", tags=["demos"])
    async def code(request: CodeRequest) -> dict[str, str]:
        """The "copy as code" snippet (PyTorch + reglab) that reproduces the demo's settings."""
        try:
            return {"code": codegen.snippet(request.demo, request.params)}
        except ValidationError as exc:
            errors = [{k: v for k, v in e.items() if k != "url"} for e in exc.errors()]
            for e in errors:
                e["loc"] = ("body", "params", *e.get("loc", ()))
            raise RequestValidationError(errors) from None

    return app


async def _stream(job: Job, request: Request, start: int) -> AsyncIterator[bytes]:
    """Replay the job's events from ``start`` and follow it; cancel it if the client leaves."""
    index = start
    job.reader_enter()
    try:
        while True:
            events = job.raw_since(index)
            for name, text in events:
                yield format_sse_event(data_str=text, event=name, id=str(index))
                index += 1
                if name in TERMINAL:
                    return
            if not events:
                if await request.is_disconnected():
                    return
                await asyncio.sleep(POLL_SECONDS)
    finally:
        if not job.finished_flag:
            job.cancel()
        job.reader_exit()


def _version() -> str:
    from reglab import __version__

    return __version__


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory reglab.lab.app:app_from_env`` (REGLAB_LAB_MAX_JOBS)."""
    return create_app(LabLimits(max_jobs=int(os.environ.get("REGLAB_LAB_MAX_JOBS", "4"))))

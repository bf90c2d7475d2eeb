"""``reglab lab``: serve the interactive regularization demos on a local web page."""

from __future__ import annotations

import typer

from reglab.cli.app import app, console


@app.command("lab")
def lab(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (127.0.0.1: this machine only)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port."),
    max_jobs: int = typer.Option(4, "--max-jobs", min=1, max=64, help="Training jobs allowed at once."),
) -> None:
    """Serve the lab: demos that train real PyTorch models with reglab and stream them live."""
    # Import the extra's packages up front: ``reglab.lab`` itself imports without them (uvicorn is
    # imported inside ``serve``), so guarding only that import let a missing uvicorn through.
    from reglab._extras import require

    require("lab", "reglab lab")
    from reglab.lab import LabLimits, serve

    from reglab.cli._bind import check_bindable

    check_bindable(host, port)
    console.print(f"reglab lab: open http://{host}:{port}/ (Ctrl-C to stop)")
    serve(host, port, limits=LabLimits(max_jobs=max_jobs))

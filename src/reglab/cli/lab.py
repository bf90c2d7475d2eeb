"""``reglab lab``: serve the interactive regularization demos on a local web page."""

from __future__ import annotations

import typer
from rich.markup import escape

from reglab.cli.app import app, console, err_console


def exposure_warning(host: str, port: int) -> str | None:
    """The one-line warning printed when ``--host`` is not a loopback address, else None."""
    from reglab.lab.guard import is_loopback

    if is_loopback(host):
        return None
    return (f"Warning: --host {host} is not a loopback address: anyone who can reach port {port} of this "
            "machine can start training jobs (--host 127.0.0.1 keeps the lab local).")


@app.command("lab")
def lab(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (127.0.0.1: this machine only)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port."),
    max_jobs: int = typer.Option(4, "--max-jobs", min=1, max=64, help="Training jobs allowed at once."),
    allow_host: list[str] = typer.Option(
        [], "--allow-host",
        help="A Host name to answer besides localhost and the bound address (repeatable), e.g. a LAN name."),
) -> None:
    """Serve the lab: demos that train real PyTorch models with reglab and stream them live."""
    # Import the extra's packages up front: ``reglab.lab`` itself imports without them (uvicorn is
    # imported inside ``serve``), so guarding only that import let a missing uvicorn through.
    from reglab._extras import require

    require("lab", "reglab lab")
    from reglab.lab import LabLimits, serve

    from reglab.cli._bind import check_bindable

    check_bindable(host, port)
    warning = exposure_warning(host, port)
    if warning is not None:
        err_console.print(f"[bold yellow]{escape(warning)}[/bold yellow]")
    console.print(f"reglab lab: open http://{host}:{port}/ (Ctrl-C to stop)")
    serve(host, port, limits=LabLimits(max_jobs=max_jobs), allow_hosts=tuple(allow_host))

"""The typer application and the error boundary every command runs inside."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from reglab.errors import ReglabError

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False)


def report_error(message: str) -> None:
    """Print one red line on stderr."""
    err_console.print(f"[bold red]Error:[/bold red] {escape(message)}")


class _ReglabGroup(TyperGroup):
    """Turns library errors into a red line and exit code 2 (also under typer's CliRunner)."""

    def invoke(self, ctx):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (ReglabError, ValueError, TypeError) as exc:
            report_error(str(exc))
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            report_error("Interrupted. Completed work is saved; run the same command again to resume.")
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=_ReglabGroup,
    name="reglab",
    help="Regularization lab for PyTorch: run studies, sweeps, reports and the interactive lab.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def main() -> None:
    """Console-script entry point."""
    app()


def _print_version(value: bool) -> None:
    if value:
        from reglab import __version__

        console.print(f"reglab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
    ),
) -> None:
    """Regularization lab for PyTorch: run studies, sweeps, reports and the interactive lab."""

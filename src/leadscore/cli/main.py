"""Top-level Typer application; subcommands live in sibling modules, one per area."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from leadscore import __version__
from leadscore.errors import LeadscoreError

app = typer.Typer(
    name="leadscore",
    help="Train, serve and A/B-test lead-conversion models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help text is plain: "[auto]" and "[days covered]" must not vanish as markup
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"leadscore {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """leadscore: lead-conversion models on Kubernetes."""


def _register() -> None:
    """Attach every area's commands; a module missing from a slim image is simply absent."""
    from importlib import import_module

    for module in ("data", "train", "experiment", "serve", "collector", "operator", "console", "demo", "monitor"):
        try:
            import_module(f"leadscore.cli.{module}").register(app)
        except ModuleNotFoundError as exc:
            if not exc.name or not exc.name.startswith("leadscore.cli."):
                raise


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; our own errors become one line on stderr and their exit code."""
    _register()
    try:
        app(args=list(argv) if argv is not None else None, standalone_mode=False)
    except LeadscoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 130
    except SystemExit as exc:  # click's own usage errors
        return int(exc.code or 0)
    except Exception as exc:  # click.ClickException and friends carry their own exit code
        import click

        vendored = getattr(getattr(typer, "_click", None), "exceptions", None)  # newer typer vendors click
        usage_errors = (click.ClickException, *([vendored.ClickException] if vendored else []))
        if isinstance(exc, usage_errors):
            exc.show()
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())

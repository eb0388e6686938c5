"""The ``cidrep`` command line, assembled from one sub-app per concern."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from cidrep import __version__
from cidrep.cli.context import AppState


class _Group(TyperGroup):
    """Turns errors into lines on stderr and a documented exit code, never a traceback.

    A user error (``CidrepError``) prints its message with its code (2 for usage,
    74 for storage). Anything else is a bug: one line, exit 70 (never a code that
    means "flagged"), and the redacted traceback only with ``--verbose``.
    """

    def invoke(self, ctx: Any) -> Any:
        import click

        from cidrep.errors import CidrepError, ExitCode
        from cidrep.redaction import redact

        try:
            return super().invoke(ctx)
        except CidrepError as exc:
            for line in redact(exc.message).splitlines():
                typer.echo(f"error: {line}", err=True)
            raise typer.Exit(int(exc.code)) from None
        except (typer.Exit, typer.Abort, click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:
            if _from_the_cli_library(exc):  # a usage error: click prints it, exit 2
                raise
            logging.getLogger("cidrep").debug("internal error", exc_info=True)
            text = " ".join(redact(f"{type(exc).__name__}: {exc}").split())[:300]
            typer.echo(
                f"error: internal error ({text}); this is a bug, please report it "
                "(--verbose shows details)",
                err=True,
            )
            raise typer.Exit(int(ExitCode.INTERNAL)) from None
        finally:
            obj = ctx.obj
            if isinstance(obj, AppState):
                obj.close()


def _from_the_cli_library(exc: Exception) -> bool:
    """Usage errors (missing option, unknown option) come from click, or from the copy
    of click that newer typer versions ship (not a ``click.ClickException``)."""
    return type(exc).__module__.split(".")[0] in ("click", "typer")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cidrep {__version__}")
        raise typer.Exit()


def make_app() -> typer.Typer:
    from cidrep.cli import (
        accounts,
        alerts,
        channels,
        check,
        labels,
        numbers,
        privacy,
        report,
        runs,
        sources,
        status,
        vet,
    )

    app = typer.Typer(
        cls=_Group,
        help="Monitor the caller-ID reputation of your outbound numbers.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        config: Path | None = typer.Option(
            None, "--config", help="Config file (env CIDREP_CONFIG; default: user config dir)."
        ),
        db: Path | None = typer.Option(
            None, "--db", help="SQLite database (env CIDREP_DB; default: user data dir)."
        ),
        account: str | None = typer.Option(
            None,
            "--account",
            "-a",
            help="Scope to this account (env CIDREP_ACCOUNT). Reads and checks cover all "
            "accounts when unset; writes go to the default account.",
        ),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logs on stderr."),
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version."
        ),
    ) -> None:
        if verbose:
            from cidrep.redaction import RedactingFormatter

            handler = logging.StreamHandler()
            handler.setFormatter(RedactingFormatter("%(name)s: %(message)s"))
            logging.basicConfig(level=logging.DEBUG, handlers=[handler], force=True)
            for noisy in ("httpx", "httpcore"):  # their logs print URLs, which may hold keys
                logging.getLogger(noisy).setLevel(logging.WARNING)
        ctx.obj = AppState(config_path=config, db_path=db, account_name=account)

    app.command("check")(check.check)
    app.command("vet")(vet.vet)
    app.command("status")(status.status)
    app.command("runs")(runs.runs)
    app.command("report")(report.report)
    app.add_typer(numbers.app, name="numbers")
    app.add_typer(sources.app, name="sources")
    app.add_typer(accounts.app, name="accounts")
    app.add_typer(alerts.app, name="alerts")
    app.add_typer(channels.app, name="channels")
    app.command("digest")(alerts.digest)
    app.command("mute")(alerts.mute)
    app.command("unmute")(alerts.unmute)
    app.command("export")(privacy.export)
    app.command("restore")(privacy.restore)
    app.command("delete")(privacy.delete)
    app.command("prune")(privacy.prune)
    app.command("privacy")(privacy.privacy)
    app.command("audit")(privacy.audit)
    app.command("sighting")(labels.sighting)
    app.add_typer(labels.app, name="labels")
    return app


def main() -> None:
    make_app()(prog_name="cidrep")

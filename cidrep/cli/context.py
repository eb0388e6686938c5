"""Per-invocation state for the CLI: global options, and lazily loaded config/DB.

Heavy modules (pydantic, sqlite-utils, httpx, phonenumbers, plugins) are imported
only when a command needs them, so ``cidrep --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from sqlite_utils import Database

    from cidrep.channels import Channel
    from cidrep.config import BaseConfig, LoadedConfig
    from cidrep.contract import Checker


JSON_OPTION = typer.Option(False, "--json", help="Machine-readable output.")
TAG_FILTER = typer.Option(None, "--tag", "-t", help="Only numbers with this tag.")


@dataclass
class AppState:
    config_path: Path | None = None
    db_path: Path | None = None
    account_name: str | None = None
    _loaded: LoadedConfig | None = None
    _db: Database | None = None
    _recorded: dict[str, str] | None = None

    def checkers(self) -> dict[str, type[Checker]]:
        from cidrep.errors import CidrepError
        from cidrep.plugins import PluginError, get_checkers

        try:
            return get_checkers()
        except (PluginError, ImportError) as exc:
            raise CidrepError(f"cannot load plugins: {exc}") from None

    def channel_types(self) -> dict[str, type[Channel]]:
        from cidrep.errors import CidrepError
        from cidrep.plugins import PluginError, get_channels

        try:
            return get_channels()
        except (PluginError, ImportError) as exc:
            raise CidrepError(f"cannot load plugins: {exc}") from None

    def channels(self) -> dict[str, Channel]:
        """Every configured channel (``[channels.<name>]``), enabled or not."""
        from cidrep.alerts.routing import build_channels

        return build_channels(self.settings.channels, self.channel_types())

    def loaded(self) -> LoadedConfig:
        if self._loaded is None:
            from cidrep.config import load_config

            overrides = {"db": self.db_path, "account": self.account_name}
            self._loaded = load_config(
                self.config_path, self.checkers(), overrides, self.channel_types()
            )
            for warning in self._loaded.warnings:
                typer.echo(warning, err=True)
        return self._loaded

    @property
    def settings(self) -> BaseConfig:
        return self.loaded().settings

    @property
    def db_file(self) -> Path:
        """The database file, symlinks resolved: one file, one lock, however it is named."""
        return self.settings.db_path.expanduser().resolve()

    def db(self) -> Database:
        if self._db is None:
            from cidrep.store import open_db

            self._db = open_db(self.db_file)
        return self._db

    def read_db(self) -> Database:
        """The database for a read command: read-only when this user may not write it."""
        if self._db is None:
            from cidrep.store.database import open_db, writable

            path = self.db_file
            self._db = open_db(path, readonly=path.exists() and not writable(path))
        return self._db

    def interval(self, source: str) -> timedelta | None:
        """A source's interval: None for a recorded source (manual sightings, imported
        labels: never stale), 24 h for a source no longer registered."""
        if source in self.checkers():
            return self.settings.source(source).interval
        if source in self.recorded():
            return None
        return timedelta(hours=24)

    def recorded(self) -> dict[str, str]:
        """Recorded (not polled) sources in the database, read once."""
        if self._recorded is None:
            from cidrep.store.carrier_state import recorded_sources

            self._recorded = recorded_sources(self.read_db())
        return self._recorded

    def account(self, db: Database | None = None) -> dict[str, Any]:
        from cidrep.store.numbers import get_account

        return get_account(db or self.db(), self.settings.account)

    def scoped_account(self, db: Database | None = None) -> dict[str, Any] | None:
        """The account named by --account / CIDREP_ACCOUNT / config, else None (all)."""
        if self.account_name is not None or _account_configured(self.loaded()):
            return self.account(db)
        return None

    def scoped_numbers(self, tag: str | None = None) -> list[dict[str, Any]]:
        """Numbers in the scoped account (or all accounts), optionally by tag."""
        from cidrep.store.numbers import list_numbers

        account = self.scoped_account()
        return list_numbers(self.db(), account["id"] if account else None, tag)

    def normalize(self, raw: str) -> str:
        """``raw`` as E.164, or a ``CidrepError``; a number accepted only as a possible
        NANP number (an area code newer than the metadata) prints one warning line."""
        from cidrep.errors import CidrepError
        from cidrep.phone import InvalidNumber, normalize_noted

        try:
            e164, note = normalize_noted(raw, self.settings.default_region)
        except InvalidNumber as exc:
            raise CidrepError(str(exc)) from None
        if note:
            typer.echo(f"warning: {note}", err=True)
        return e164

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _account_configured(loaded: LoadedConfig) -> bool:
    return "account" in loaded.settings.model_fields_set


def state(ctx: typer.Context) -> AppState:
    obj = ctx.find_root().obj
    assert isinstance(obj, AppState)
    return obj


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def table(rows: list[list[str]], headers: list[str]) -> str:
    """Plain aligned columns (no colour, stable for scripts and tests)."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
    return "\n".join(lines)

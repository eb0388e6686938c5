"""``cidrep privacy``: what is stored, what is sent where, for how long, and where.

Generated, never hand-written: the row counts come from the database, each source's
and channel's line from its plugin's ``disclosure`` (a new plugin appears by itself),
the retention from the config in force, the last prune from the database, and the
file facts from ``stat``. A file that others may read gets a warning: the database
holds a customer's numbers, the config may hold keys and webhook URLs.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cidrep.channels import Channel
from cidrep.contract import Checker


def file_facts(path: Path, what: str) -> dict[str, Any]:
    """Path, existence, mode and owner of ``path``; ``warning`` when others may read it.

    | mode | warning |
    |------|---------|
    | 0600 | none    |
    | 0640 | readable by group |
    | 0644 | readable by group and others |
    """
    facts: dict[str, Any] = {"path": str(path), "exists": path.exists()}
    if not facts["exists"]:
        return facts
    st = path.stat()
    mode = stat.S_IMODE(st.st_mode)
    facts["mode"] = f"{mode:04o}"
    facts["owner"] = _owner(st.st_uid)
    readers = [
        who for bit, who in ((stat.S_IRGRP, "group"), (stat.S_IROTH, "others")) if mode & bit
    ]
    if readers:
        facts["warning"] = (
            f"{what} {path} is readable by {' and '.join(readers)} (mode {mode:04o}); "
            f"run: chmod 600 {path}"
        )
    return facts


def _owner(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def sources(settings: Any, checkers: Mapping[str, type[Checker]]) -> list[dict[str, Any]]:
    """Each registered source: enabled or not, and its plugin's disclosure.

    An enabled source its preflight skips (no key configured) sends nothing, and says
    why: the disclosure is what runs, not what could.
    """
    found = []
    for name, cls in checkers.items():
        source = settings.source(name)
        skipped = None
        if source.enabled:
            try:
                skipped = cls(source).preflight()
            except Exception as exc:  # a broken plugin is reported, not fatal
                skipped = f"preflight failed: {exc!r}"
        if not source.enabled:
            sends = "nothing (disabled)"
        elif skipped:
            sends = f"nothing (skipped: {skipped})"
        else:
            sends = cls.disclosure
        found.append(
            {
                "name": name,
                "enabled": bool(source.enabled),
                "skipped": skipped,
                "sends": sends,
                "plugin": cls.__module__,
            }
        )
    return found


def channels(configured: Mapping[str, Channel]) -> list[dict[str, Any]]:
    """Each configured channel: type, masked target, enabled, its plugin's disclosure."""
    found = []
    for name, channel in sorted(configured.items()):
        enabled = bool(getattr(channel.settings, "enabled", True))
        found.append(
            {
                "name": name,
                "type": channel.type,
                "enabled": enabled,
                "target": channel.target(),
                "sends": channel.disclosure if enabled else "nothing (disabled)",
            }
        )
    return found


def report(
    *,
    stored: list[dict[str, Any]],
    fleet: dict[str, int],
    sources: list[dict[str, Any]],
    channels: list[dict[str, Any]],
    retention_days: int,
    first_day_kept: str,
    last_prune: str | None,
    last_prune_entry: dict[str, Any] | None,
    database: dict[str, Any],
    config: dict[str, Any],
) -> dict[str, Any]:
    """The whole disclosure (``--json`` prints it as is)."""
    warnings = [f["warning"] for f in (database, config) if "warning" in f]
    warnings += [w for f in database.get("companions", []) if (w := f.get("warning"))]
    return {
        "stored": {"accounts": stored, "fleet": fleet},
        "sources": sources,
        "channels": channels,
        "retention": {
            "days": retention_days,
            "applies_to": ["history", "sightings", "flips", "deliveries", "runs"],
            "first_day_kept": first_day_kept,
            "last_prune": last_prune,
            "last_recorded_prune": last_prune_entry,
        },
        "files": {"database": database, "config": config},
        "warnings": warnings,
    }


def companions(db_path: Path) -> list[dict[str, Any]]:
    """The WAL and shared-memory files beside the database, where present."""
    return [
        file_facts(Path(f"{db_path}{suffix}"), "database file")
        for suffix in ("-wal", "-shm")
        if os.path.exists(f"{db_path}{suffix}")
    ]

"""Is each channel delivering? One rule for ``channels list``, ``status`` and the digest.

==================  ===================================================================
health              when
==================  ===================================================================
disabled            ``enabled = false``
unavailable         the channel cannot send at all (its preflight: a missing extra)
failing             its latest send failed (after its latest success)
ok                  its latest send succeeded
never               nothing sent yet
==================  ===================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlite_utils import Database

from cidrep.channels import Channel
from cidrep.store import alert_state, outbox


def channel_health(state: Mapping[str, Any] | None, channel: Channel) -> str:
    """The health of one channel from its ``channel_state`` row (pure)."""
    if not channel.settings.enabled:
        return "disabled"
    if channel.preflight():
        return "unavailable"
    if not state:
        return "never"
    failure, success = state.get("last_failure"), state.get("last_success")
    if failure and (not success or failure >= success):
        return "failing"
    return "ok" if success else "never"


def channel_rows(db: Database, channels: Mapping[str, Channel]) -> list[dict[str, Any]]:
    """One row per configured channel: type, masked target, health, queue, routing."""
    states = outbox.channel_states(db)
    pending = outbox.pending_counts(db)
    routes = alert_state.routes(db)
    accounts = {r["id"]: r["name"] for r in db.query("SELECT id, name FROM accounts")}
    routed: dict[str, list[str]] = {}
    for account_id, names in routes.items():
        for name in names:
            routed.setdefault(name, []).append(accounts.get(account_id, str(account_id)))
    rows = []
    for name, channel in channels.items():
        state = states.get(name) or {}
        health = channel_health(state, channel)
        rows.append(
            {
                "name": name,
                "type": channel.type,
                "target": channel.target(),
                "enabled": channel.settings.enabled,
                "health": health,
                "accounts": sorted(routed.get(name, [])) or None,  # None: global
                "pending": pending.get(name, 0),
                "last_success": state.get("last_success"),
                "last_failure": state.get("last_failure"),
                "last_error": channel.preflight() or state.get("last_error"),
                "permanent": bool(state.get("permanent")),
            }
        )
    return rows

"""Which channels hear about what.

- A number's alerts go to the channels routed to its account (``cidrep accounts
  set ACCOUNT --channel NAME``) and to every *global* channel: one routed to no
  account. So an agency's ops channel (global) hears everything, and each customer's
  channel hears only that customer's numbers.
- Fleet notices (a source failing or recovered) and digests go to the global
  channels, or to every channel when all of them are routed to accounts.
- A channel with ``enabled = false`` gets nothing (no delivery rows are written).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlite_utils import Database

from cidrep.channels import Channel, ChannelSettings
from cidrep.errors import CidrepError


def build_channels(
    configured: Mapping[str, ChannelSettings], types: Mapping[str, type[Channel]]
) -> dict[str, Channel]:
    """A ``Channel`` for every ``[channels.<name>]`` section (enabled or not)."""
    return {name: types[cfg.type](name, cfg) for name, cfg in sorted(configured.items())}


def global_channels(
    channels: Mapping[str, Channel], routes: Mapping[int, Sequence[str]]
) -> list[str]:
    routed = {name for names in routes.values() for name in names}
    return [n for n, c in channels.items() if c.settings.enabled and n not in routed]


def for_number(
    account_id: int, channels: Mapping[str, Channel], routes: Mapping[int, Sequence[str]]
) -> list[str]:
    """Enabled channels routed to the account, then the global ones."""
    own = [n for n in routes.get(account_id, ()) if n in channels and channels[n].settings.enabled]
    return list(dict.fromkeys([*own, *global_channels(channels, routes)]))


def for_fleet(channels: Mapping[str, Channel], routes: Mapping[int, Sequence[str]]) -> list[str]:
    """The global channels, or every enabled channel when all are routed."""
    found = global_channels(channels, routes)
    return found or [n for n, c in channels.items() if c.settings.enabled]


def check_names(names: Sequence[str], channels: Mapping[str, Channel]) -> list[str]:
    """``names`` if each is a configured channel, else a ``CidrepError`` naming it."""
    for name in names:
        if name not in channels:
            known = ", ".join(channels) or "none configured"
            raise CidrepError(f"unknown channel {name!r} (configured: {known})")
    return list(dict.fromkeys(names))


def set_account_channels(
    db: Database, account_id: int, names: Sequence[str], channels: Mapping[str, Channel]
) -> list[str]:
    """Route an account's alerts to ``names``; returns the channels this made global
    (routed to no account any more), which the user should hear about."""
    from cidrep.store import alert_state

    before = set(global_channels(channels, alert_state.routes(db)))
    alert_state.set_routes(db, account_id, names)
    return sorted(set(global_channels(channels, alert_state.routes(db))) - before)

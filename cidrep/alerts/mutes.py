"""Mute and unmute: hold a number's alerts for a while, then tell only what is new.

A mute holds per-flip alerts (they are still recorded as flips, marked held); it
never hides the number from ``status`` or the exit code. When the mute ends (its
time passes, or ``cidrep unmute``), an alert is sent only if the number's state now
differs from the last one announced (``cidrep.alerts.rules.unmute``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from cidrep.alerts.evaluate import Change, Evaluation
from cidrep.alerts.rules import NumberAlert, mute
from cidrep.channels import Channel
from cidrep.store import alert_state as store
from cidrep.store.database import write
from cidrep.timeutil import iso


def mute_numbers(db: Database, number_ids: Sequence[int], until: datetime) -> int:
    """Hold alerts of these numbers until ``until``; returns how many."""
    with write(db):
        rows = store.load_numbers(db, number_ids)
        saves = []
        for number_id in number_ids:
            prev = NumberAlert.from_row(rows.get(number_id))
            saves.append((number_id, mute(prev, iso(until)).__dict__))
        store.save_numbers(db, saves)
    return len(saves)


def unmute_numbers(
    db: Database,
    settings: Any,
    in_service: Sequence[str],
    channels: Mapping[str, Channel],
    number_ids: Sequence[int],
    now: datetime,
) -> list[Change]:
    """Lift the mute now; the alerts this gives rise to are recorded in the outbox."""
    return Evaluation(db, settings, in_service, channels, now).unmute(number_ids)

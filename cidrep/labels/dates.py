"""Dates as people and exports write them, read into UTC ISO timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from cidrep.timeutil import iso

# Besides ISO 8601 (date, or date and time with Z or an offset): US exports.
FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%Y-%m-%d %H:%M")


def parse_when(text: str) -> str:
    """``text`` as ``YYYY-MM-DDTHH:MM:SSZ`` (pure).

    ==================================  ===============================================
    input                               read as
    ==================================  ===============================================
    2026-11-20                          midnight UTC that day
    2026-11-20T14:05:00Z / +02:00       that instant, in UTC
    2026-11-20T14:05:00 (no zone)       UTC (cidrep stores and shows UTC)
    11/20/2026, 11/20/2026 14:05[:00]   month first (US exports, TrustCall), UTC
    anything else                       ValueError naming the accepted forms
    ==================================  ===============================================
    """
    value = text.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        for fmt in FORMATS:
            try:
                parsed = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValueError(
            f"{text!r} is not a date (use 2026-11-20, 2026-11-20T14:05:00Z or 11/20/2026)"
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return iso(parsed)

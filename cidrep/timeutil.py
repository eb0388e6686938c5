"""Time helpers and the human duration / rate formats used in the config.

All stored timestamps are UTC ISO-8601 strings with a ``Z`` suffix and second
precision, so they sort lexically in SQLite and compare as strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(dt: datetime) -> str:
    """Format an aware datetime as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse a stored timestamp (``Z`` or offset; a bare date means midnight UTC)."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


def parse_duration(value: object) -> timedelta:
    """Parse ``90``, ``"90s"``, ``"15m"``, ``"6h"``, ``"1d"``, ``"1h30m"`` into a timedelta.

    A bare number is seconds. Units: s, m, h, d, w. Rejects zero and negatives
    because every duration in the config is an interval or a timeout.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError("expected a duration such as '30s', '15m', '6h' or '1d'")
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        else:
            parts = _DURATION_PART.findall(text)
            if not parts or _DURATION_PART.sub("", text).strip():
                raise ValueError(
                    f"invalid duration {value!r}: use e.g. '30s', '15m', '6h', '1d' or '1h30m'"
                )
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    else:
        raise ValueError("expected a duration such as '30s', '15m', '6h' or '1d'")
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {value!r}")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Rate:
    """A request rate: ``count`` requests per ``per_seconds``."""

    count: float
    per_seconds: float

    @property
    def interval(self) -> float:
        """Seconds between two requests when spread evenly."""
        return self.per_seconds / self.count

    def __str__(self) -> str:
        unit = {1: "s", 60: "min", 3600: "h"}.get(int(self.per_seconds), f"{self.per_seconds}s")
        count = int(self.count) if float(self.count).is_integer() else self.count
        return f"{count}/{unit}"


_RATE_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
}


def parse_rate(value: object) -> Rate:
    """Parse ``"5/s"``, ``"60/min"``, ``"1000/h"`` or a bare number (per second)."""
    if isinstance(value, Rate):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        count, per = float(value), 1.0
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*([a-z]+))?\s*", value.lower())
        if not m or (m.group(2) and m.group(2) not in _RATE_UNITS):
            raise ValueError(f"invalid rate {value!r}: use e.g. '5/s', '60/min' or '1000/h'")
        count, per = float(m.group(1)), float(_RATE_UNITS[m.group(2) or "s"])
    else:
        raise ValueError("expected a rate such as '5/s' or '60/min'")
    if count <= 0:
        raise ValueError(f"rate must be positive, got {value!r}")
    return Rate(count, per)

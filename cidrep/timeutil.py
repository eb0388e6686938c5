"""Time helpers and the human duration / rate formats used in the config.

All stored timestamps are UTC ISO-8601 strings with a ``Z`` suffix and second
precision, so they sort lexically in SQLite and compare as strings.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
MAX_DURATION = timedelta(days=36525)  # 100 years; beyond it timedelta overflows soon
MIN_DURATION = timedelta(milliseconds=1)  # shorter rounds towards zero in timedelta
MAX_RATE = 1_000_000.0  # requests per unit: more is a typo, and the spacing rounds to 0
MAX_RATE_INTERVAL = 86400.0  # seconds between requests: slower would stall a run
SHOW_LIMIT = 40


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

    A bare number is seconds. Units: s, m, h, d, w. Rejects zero, negatives and
    anything under ``MIN_DURATION`` because every duration in the config is an
    interval or a timeout; rejects NaN, infinity and anything over ``MAX_DURATION``
    (100 years) because ``timedelta`` overflows on them and no real setting needs
    them. Every failure is a ``ValueError`` whose message is one short line.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):
        raise ValueError("expected a duration such as '30s', '15m', '6h' or '1d'")
    elif isinstance(value, int | float):
        seconds = _finite(value, "duration")
    elif isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = _finite(float(text), "duration", value)
        else:
            parts = _DURATION_PART.findall(text)
            if not parts or _DURATION_PART.sub("", text).strip():
                raise ValueError(
                    f"invalid duration {_show(value)}: use e.g. '30s', '15m', '6h', '1d' or '1h30m'"
                )
            seconds = _finite(sum(float(n) * _UNITS[u] for n, u in parts), "duration", value)
    else:
        raise ValueError("expected a duration such as '30s', '15m', '6h' or '1d'")
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {_show(value)}")
    if seconds < MIN_DURATION.total_seconds():
        raise ValueError(f"duration {_show(value)} is too short (at least 0.001s)")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration {_show(value)} is too long (at most 100 years)")
    return timedelta(seconds=seconds)


def _finite(number: float, what: str, shown: object = None) -> float:
    """``number`` as a finite float, or a ValueError (huge ints overflow ``float()``)."""
    original = number if shown is None else shown
    try:
        result = float(number)
    except OverflowError:
        raise ValueError(f"{what} {_show(original)} is too large") from None
    if math.isnan(result):
        raise ValueError(f"{what} must be a number, got {_show(original)}")
    if math.isinf(result):
        raise ValueError(f"{what} {_show(original)} is too large")
    return result


def _show(value: object) -> str:
    """The offending value for a message: ``repr``, cut so the message stays one short line."""
    text = repr(value)
    return text if len(text) <= SHOW_LIMIT else text[: SHOW_LIMIT - 3] + "..."


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
    """Parse ``"5/s"``, ``"60/min"``, ``"1000/h"`` or a bare number (per second).

    The count must be a finite positive number of at most ``MAX_RATE``, and the
    spacing it implies at most ``MAX_RATE_INTERVAL`` (one request a day): NaN, zero
    or a huge count would make the limiter divide by zero, spin or sleep forever.
    """
    if isinstance(value, Rate):
        count, per = value.count, value.per_seconds
    elif isinstance(value, int | float) and not isinstance(value, bool):
        count, per = _finite(value, "rate"), 1.0
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*([a-z]+))?\s*", value.lower())
        if not m or (m.group(2) and m.group(2) not in _RATE_UNITS):
            raise ValueError(f"invalid rate {_show(value)}: use e.g. '5/s', '60/min' or '1000/h'")
        count = _finite(float(m.group(1)), "rate", value)
        per = float(_RATE_UNITS[m.group(2) or "s"])
    else:
        raise ValueError("expected a rate such as '5/s' or '60/min'")
    if count <= 0:
        raise ValueError(f"rate must be positive, got {_show(value)}")
    if count > MAX_RATE:
        raise ValueError(f"rate {_show(value)} is too high (at most {MAX_RATE:.0f} per unit)")
    if per / count > MAX_RATE_INTERVAL:
        raise ValueError(f"rate {_show(value)} is too slow (at least one request a day)")
    return Rate(count, per)

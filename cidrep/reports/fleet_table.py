"""How fleet lines look: the terminal table, CSV, Markdown (pure functions).

The table is drawn here, not with rich: rich measures every cell of every row
before printing the first (seconds for 10,000 numbers, and the whole table in
memory). Column widths come from the first page of lines and the terminal width
(``fit``); later lines are cut to them, so the table streams. A cell that does not
fit is cut with an ellipsis, never wrapped, so each number stays on one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from cidrep.phone import display

ELLIPSIS = "…"
GAP = "  "

# (key, header); ``account`` only when several accounts are in scope.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("number", "NUMBER"),
    ("account", "ACCOUNT"),
    ("label", "LABEL"),
    ("verdict", "VERDICT"),
    ("since", "SINCE (UTC)"),
    ("sources", "SOURCES"),
    ("as_of", "AS OF (UTC)"),
)
HEADERS = dict(COLUMNS)
# Shrinking floors: first what is comfortable, then the header's own width.
SOFT_MIN = {"label": 12, "account": 10}
HARD_MIN = {"label": 5, "account": 7, "sources": 16}

CSV_COLUMNS = (
    "number",
    "account",
    "label",
    "tags",
    "paused",
    "verdict",
    "since",
    "verdict_sources",
    "flagged_on",
    "failing",
    "stale",
    "as_of",
)
LIST_SEPARATOR = "; "


def short(ts: str | None) -> str:
    """``2026-11-02T09:00:00Z`` -> ``2026-11-02 09:00`` (UTC); ``-`` for none."""
    return ts.replace("T", " ")[:16] if ts else "-"


def marks(line: Mapping[str, Any]) -> str:
    """``fcc [failing: ftc] [stale: fcc]``: who gives the verdict (where it is
    flagged, carriers named), and which sources are not current."""
    named = line.get("flagged_on") if line["verdict"] == "flagged" else None
    behind = ", ".join(named or line["verdict_sources"]) if line["verdict"] != "error" else ""
    if line["failing"]:
        behind += f" [failing: {', '.join(line['failing'])}]"
    if line["stale"]:
        behind += f" [stale: {', '.join(line['stale'])}]"
    return behind.strip()


def verdict_text(line: Mapping[str, Any]) -> str:
    verdict = line["verdict"] or "not checked"
    return f"paused ({verdict})" if line["paused"] else verdict


def cells(line: Mapping[str, Any]) -> dict[str, str]:
    """Every table column's text for a line."""
    return {
        "number": display(line["number"]),
        "account": line["account"],
        "label": line["label"] or "",
        "verdict": verdict_text(line),
        "since": short(line["since"]),
        "sources": marks(line),
        "as_of": short(line["as_of"]),
    }


def natural(rows: Sequence[Mapping[str, str]], keys: Sequence[str]) -> dict[str, int]:
    """Each column's widest cell (header included)."""
    return {k: max([len(HEADERS[k]), *(len(r[k]) for r in rows)]) for k in keys}


def _total(widths: Mapping[str, int]) -> int:
    return sum(widths.values()) + len(GAP) * (len(widths) - 1)


def _shrink(widths: dict[str, int], floors: Mapping[str, int], limit: int) -> None:
    """Narrow the widest of ``floors``' columns first, one character at a time,
    until the table fits ``limit`` or every one is at its floor."""
    while _total(widths) > limit:
        over = [k for k in floors if k in widths and widths[k] > floors[k]]
        if not over:
            return
        widest = max(over, key=lambda k: (widths[k] - floors[k], k))
        widths[widest] -= 1


def fit(widths: Mapping[str, int], limit: int | None) -> dict[str, int]:
    """Column widths that fit ``limit`` characters (pure). The first step that fits
    wins; each starts again from the natural widths of the columns it keeps, so
    the room a dropped column frees goes back to the others, and shrinks only as
    far as needed (the widest column over its floor first):

    ====  =======================  ===================================================
    step  columns                  narrowed
    ====  =======================  ===================================================
    0     all (no limit: a pipe)   nothing
    1     all                      LABEL and ACCOUNT to 12 and 10
    2     without AS OF            as 1, then SOURCES to 16, LABEL and ACCOUNT to
                                   their headers' width (SOURCES already names what
                                   is failing or stale)
    3     without AS OF, SINCE     as 2
    4     also without LABEL       as 2
    5     also without ACCOUNT     as 2
    ====  =======================  ===================================================

    NUMBER and VERDICT are never cut; below about 40 columns a line may still be
    wider than the terminal.
    """
    out = dict(widths)
    if limit is None or _total(out) <= limit:
        return out
    _shrink(out, SOFT_MIN, limit)
    if _total(out) <= limit:
        return out
    for gone in ("as_of", "since", "label", "account"):
        out = {k: w for k, w in widths.items() if k in out and k != gone}
        _shrink(out, SOFT_MIN, limit)
        _shrink(out, HARD_MIN, limit)
        if _total(out) <= limit:
            break
    return out


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the last one an ellipsis when cut."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS if width > 0 else ""


# ANSI colours for a terminal (never when NO_COLOR is set)
_STYLE = {
    "flagged": "\x1b[1;31m",
    "error": "\x1b[35m",
    "unknown": "\x1b[33m",
    "clean": "\x1b[32m",
    "not checked": "\x1b[2m",
}
_RESET = "\x1b[0m"
_MARK = re.compile(r"\[(?:failing|stale): [^\]]*\]?")


def _paint(key: str, text: str, padded: str) -> str:
    """``padded`` with the visible ``text`` in colour (padding stays plain)."""
    if key == "verdict":
        word = text.removeprefix("paused (").removesuffix(")")
        style = _STYLE.get(word)
        return padded.replace(text, f"{style}{text}{_RESET}", 1) if style else padded
    if key == "sources":
        return _MARK.sub(lambda m: f"\x1b[33m{m.group(0)}{_RESET}", padded)
    return padded


def render(row: Mapping[str, str], widths: Mapping[str, int], colour: bool = False) -> str:
    """One table line: each column cut and padded to its width, trailing blanks off."""
    parts = []
    for key, width in widths.items():
        text = clip(row[key], width)
        padded = text.ljust(width)
        parts.append(_paint(key, text, padded) if colour else padded)
    return GAP.join(parts).rstrip()


def header(widths: Mapping[str, int]) -> str:
    return render(HEADERS, widths)


def use_colour(env: Mapping[str, str], isatty: bool) -> bool:
    """Colour or not (pure; https://no-color.org and the FORCE_COLOR convention).

    =====================  ==========  ======================  ======
    NO_COLOR               FORCE_COLOR  TERM                    colour
    =====================  ==========  ======================  ======
    set, non-empty         any         any                     no
    unset or empty         set, not 0  any                     yes
    unset or empty         unset       ``dumb``                no
    unset or empty         unset       other                   if stdout is a terminal
    =====================  ==========  ======================  ======
    """
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    if env.get("TERM") == "dumb":
        return False
    return isatty


def table_width(env: Mapping[str, str], isatty: bool, terminal_columns: int | None) -> int | None:
    """How wide the table may be (pure): ``COLUMNS`` when set to a positive number,
    else the terminal's width, else (a pipe or a file) no limit."""
    raw = env.get("COLUMNS", "")
    if raw.isdigit() and int(raw) > 0:
        return int(raw)
    return terminal_columns if isatty else None


def csv_row(line: Mapping[str, Any]) -> list[str]:
    """A CSV record (``CSV_COLUMNS``): lists joined with ``; ``, no verdict as an
    empty field, paused as ``true``/``false``, timestamps as stored (ISO, UTC)."""
    out = []
    for key in CSV_COLUMNS:
        value = line[key]
        if isinstance(value, list | tuple):
            value = LIST_SEPARATOR.join(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out.append("" if value is None else str(value))
    return out


def markdown_row(values: Sequence[str]) -> str:
    """A Markdown table row; ``|`` escaped, line breaks flattened."""
    cells = (v.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") for v in values)
    return "| " + " | ".join(cells) + " |"


def markdown_header(keys: Sequence[str]) -> list[str]:
    titles = [HEADERS[k].capitalize().replace("(utc)", "(UTC)") for k in keys]
    return [markdown_row(titles), "|" + "|".join("---" for _ in keys) + "|"]

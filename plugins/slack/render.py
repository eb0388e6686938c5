"""Rendering an ``Alert`` as a Slack Block Kit incoming-webhook message (pure).

Rules, and why:

- Text from users and sources (labels, tags, evidence, names) goes into ``mrkdwn``
  only after escaping ``&``, ``<`` and ``>`` (Slack's three control characters), so
  a label such as ``<!channel>`` or ``<https://evil|click>`` cannot ping a channel
  or forge a link. ``plain_text`` (the header) is shown literally and is not escaped.
- Slack rejects a whole message that breaks a Block Kit limit, and a rejected alert
  is a lost alert. Every text is therefore cut to its limit (header 150, section
  text 3000, field 2000, at most 10 fields, 50 blocks; one context element), after
  escaping, never in the middle of an entity such as ``&amp;`` or of a link.
  Lengths are counted in UTF-16 code units, which is never less than Python's
  count, so the limits hold however Slack counts.
- Only ``http(s)`` URLs become links; anything else is shown as escaped text.
- The result depends on the alert alone: every re-send posts the same message.
"""

from __future__ import annotations

import json
from typing import Any

from cidrep.contract import Alert, SourceLine

HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10
BLOCKS_MAX = 50
# Our own, tighter caps: a message is read on a phone, not archived in it.
FALLBACK_MAX = 500
LABEL_MAX = 200
EVIDENCE_MAX = 500
EVIDENCE_VALUE_MAX = 100
FIELD_VALUE_MAX = 500
URL_MAX = 1000
ELLIPSIS = "…"

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Inside ``<url|name>`` a ``|`` or ``>`` in the URL would end it early.
_URL_QUOTES = {"&": "&amp;", "<": "%3C", ">": "%3E", "|": "%7C", " ": "%20"}


def width(text: str) -> int:
    """Length in UTF-16 code units (what Slack's JavaScript counts)."""
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    """``text`` with Slack's control characters escaped (``&``, ``<``, ``>`` only)."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def _fit(pieces: list[str], limit: int) -> str:
    """Join ``pieces`` (each indivisible) within ``limit``, ending in ``…`` if cut."""
    whole = "".join(pieces)
    if width(whole) <= limit:
        return whole
    kept: list[str] = []
    used = width(ELLIPSIS)
    for piece in pieces:
        if used + width(piece) > limit:
            break
        kept.append(piece)
        used += width(piece)
    return "".join(kept).rstrip() + ELLIPSIS


def plain(text: str, limit: int) -> str:
    """One line of ``plain_text`` cut to ``limit`` (whitespace folded)."""
    return _fit(list(" ".join(text.split())), limit)


def mrkdwn(text: str, limit: int, one_line: bool = False) -> str:
    """``text`` escaped for ``mrkdwn``, then cut to ``limit`` (never inside an entity)."""
    if one_line:
        text = " ".join(text.split())
    return _fit([_ESCAPES.get(ch, ch) for ch in text], limit)


def link(url: str | None, name: str, limit: int = LABEL_MAX) -> str:
    """``<url|name>`` for an http(s) URL, else just the escaped name."""
    shown = mrkdwn(name, limit, one_line=True)
    if not url or not url.startswith(("https://", "http://")):
        return shown
    quoted = "".join(_URL_QUOTES.get(ch, ch) for ch in url)
    if width(quoted) > URL_MAX or any(ch.isspace() for ch in quoted):
        return shown
    return f"<{quoted}|{shown}>"


def _value(value: Any) -> str:
    """One evidence or fact value as short plain text."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, int | float):
        text = str(value)
    elif isinstance(value, list | tuple) and all(isinstance(v, str | int | float) for v in value):
        text = ", ".join(str(v) for v in value)
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return plain(text, EVIDENCE_VALUE_MAX)


def _date(since: str) -> str:
    """The date part of an ISO date or datetime; anything else, cut short."""
    return since[:10] if len(since) >= 10 and since[4:5] == "-" else plain(since, 40)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """A section of ``*name*\\nvalue`` fields (mrkdwn-ready values), at most 10."""
    if len(pairs) > FIELDS_MAX:
        rest = len(pairs) - FIELDS_MAX + 1
        pairs = [*pairs[: FIELDS_MAX - 1], ("More", f"{rest} more not shown")]
    fields = [
        {
            "type": "mrkdwn",
            "text": _fit(
                [f"*{mrkdwn(name, 100, one_line=True)}*\n", *_pieces(value)],
                FIELD_MAX,
            ),
        }
        for name, value in pairs
    ]
    return {"type": "section", "fields": fields}


def _pieces(escaped: str) -> list[str]:
    """Split escaped text into indivisible pieces (entities stay whole)."""
    pieces: list[str] = []
    i = 0
    while i < len(escaped):
        end = escaped.find(";", i) + 1 if escaped[i] == "&" else 0
        pieces.append(escaped[i:end] if end else escaped[i])
        i = end or i + 1
    return pieces


def header(alert: Alert) -> dict[str, Any]:
    title = plain(alert.title, HEADER_MAX) or alert.kind
    return {"type": "header", "text": {"type": "plain_text", "text": title}}


def number_fields(alert: Alert) -> dict[str, Any]:
    """Number, its label, account, tags and state, as fields."""
    pairs = [
        ("Number", alert.display or alert.number),
        ("Label", alert.number_label),
        ("Account", alert.account),
        ("Tags", ", ".join(alert.tags)),
        ("State", alert.state),
    ]
    return _fields([(name, mrkdwn(value, FIELD_VALUE_MAX)) for name, value in pairs if value])


def what_happened(alert: Alert) -> str | None:
    """The line saying what happened to the number (plain text, unescaped)."""
    by = ", ".join(alert.changed_by)
    if alert.kind == "cleared":
        parts = [f"flagged for {alert.flagged_for}"] if alert.flagged_for else []
        parts.append(f"cleared by {by}" if by else "clean again")
        text = ", ".join(parts)
        return text[:1].upper() + text[1:]
    if alert.kind == "flagged" and by:
        return f"Flagged by {by}"
    return None


def summary(alert: Alert) -> str | None:
    """``what_happened`` for a number alert, else the alert's text (mrkdwn)."""
    line = what_happened(alert)
    if line:
        return mrkdwn(line, SECTION_MAX, one_line=True)
    return mrkdwn(alert.text, SECTION_MAX) if alert.text.strip() else None


def source_section(line: SourceLine) -> dict[str, Any]:
    """``*source*: verdict, “label” (category), score N, since DATE`` + evidence line."""
    category = f" ({mrkdwn(line.category, 60, one_line=True)})" if line.category else ""
    facts = [mrkdwn(line.verdict or "no verdict", 40, one_line=True)]
    if line.label:
        facts.append(f"“{mrkdwn(line.label, LABEL_MAX, one_line=True)}”{category}")
    else:
        facts[0] += category
    if line.score is not None:
        facts.append(f"score {line.score}")
    if line.since:
        facts.append(f"since {mrkdwn(_date(line.since), 40)}")
    text = f"*{link(line.url, line.source, 80)}*: {', '.join(facts)}"
    if line.evidence:
        compact = " · ".join(f"{k}: {_value(v)}" for k, v in line.evidence.items())
        text += "\n" + mrkdwn(compact, EVIDENCE_MAX, one_line=True)
    return _section(_fit(_pieces(text), SECTION_MAX))


def sources_blocks(sources: list[SourceLine], room: int) -> list[dict[str, Any]]:
    """One section per source; past ``room`` blocks, one line naming the rest."""
    if len(sources) <= room:
        return [source_section(s) for s in sources]
    shown = max(room - 1, 0)
    rest = sources[shown:]
    names = ", ".join(s.source for s in rest)
    more = mrkdwn(f"…and {len(rest)} more sources: {names}", SECTION_MAX, one_line=True)
    return [*(source_section(s) for s in sources[:shown]), _section(more)][:room]


def dispute_section(alert: Alert) -> dict[str, Any]:
    """``*Dispute:* <url|name> · ...``; links are kept whole, the rest counted."""
    links = [link(d.url, d.name) for d in alert.dispute]
    text = "*Dispute:* "
    for i, one in enumerate(links):
        if i and width(text + " · " + one) > SECTION_MAX - 40:  # room for "…and N more"
            return _section(f"{text} …and {len(links) - i} more")
        text += (" · " if i else "") + one
    return _section(text)


def footer(alert: Alert) -> dict[str, Any]:
    key = mrkdwn(alert.key, 300, one_line=True)
    at = mrkdwn(alert.at, 60, one_line=True)
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"cidrep {alert.kind} · key {key} · at {at}"}],
    }


def fallback(alert: Alert) -> str:
    """The top-level ``text``: notifications and clients without blocks show it."""
    line = what_happened(alert) or alert.text.strip().split("\n", 1)[0]
    if alert.number is not None and alert.account:
        line = f"{line} (account {alert.account})" if line else f"account {alert.account}"
    text = f"{' '.join(alert.title.split())}\n{' '.join(line.split())}".strip()
    return mrkdwn(text, FALLBACK_MAX)


def message(alert: Alert) -> dict[str, Any]:
    """The incoming-webhook payload: fallback ``text`` and ``blocks`` (≤ 50)."""
    blocks = [header(alert)]
    if alert.number is not None:
        blocks.append(number_fields(alert))
    line = summary(alert)
    if line:
        blocks.append(_section(line))
    if alert.facts:
        blocks.append(_fields([(str(k), mrkdwn(_value(v), 200)) for k, v in alert.facts.items()]))
    tail = [dispute_section(alert)] if alert.dispute else []
    tail.append(footer(alert))
    blocks += sources_blocks(list(alert.sources), BLOCKS_MAX - len(blocks) - len(tail))
    return {"text": fallback(alert), "blocks": [*blocks, *tail]}

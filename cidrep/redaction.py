"""Keeping secrets out of every message, log line and stored text.

A secret can reach text in several spellings: raw, as Python's ``repr`` shows it
(escaped newline or non-ASCII), URL-encoded (in a query or path), or JSON-escaped.
``Redactor`` replaces every spelling of every configured secret with ``***``.

Rule for excerpts: redact first, then cut. Cutting first can leave a prefix of a
secret that no longer matches (``excerpt`` does it in the right order). As a second
line of defence, a secret prefix of at least ``MIN_PARTIAL`` characters that ends a
text, or stands right before an ellipsis, is masked too.

The process-wide registry (``register`` / ``redact``) is filled when the config is
loaded, so that log records, crash reports and CLI errors are redacted without each
caller having to know the secrets.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
MAX_MESSAGE = 300
MIN_PARTIAL = 6
_ELLIPSES = ("...", "…")


def spellings(secret: str) -> set[str]:
    """Every form in which ``secret`` may appear in text (raw, repr, URL, JSON)."""
    forms = {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        quote(secret),
    }
    stripped = secret.strip()
    if stripped:
        forms.add(stripped)
    return {f for f in forms if f}


class Redactor:
    """Replaces every spelling of every secret with ``***``.

    ``one_line`` also folds whitespace and caps the text at ``MAX_MESSAGE`` (after
    redaction), for error messages; ``redact_text`` keeps the text's shape (for
    stored labels and log records).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= spellings(secret)
        self.forms = sorted(forms, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self.forms)

    def redact_text(self, text: str) -> str:
        if not self.forms or not text:
            return text
        for form in self.forms:
            if form in text:
                text = text.replace(form, MASK)
        return self._partial(text)

    def _partial(self, text: str) -> str:
        """Mask a secret's prefix left at the end of a cut text (or before ``...``)."""
        for cut in ("", *_ELLIPSES):
            body = text[: -len(cut)] if cut and text.endswith(cut) else text
            if cut and body == text:
                continue
            for form in self.forms:
                for size in range(min(len(form) - 1, len(body)), MIN_PARTIAL - 1, -1):
                    if body.endswith(form[:size]):
                        return body[:-size] + MASK + cut
        return text

    def one_line(self, text: str) -> str:
        text = " ".join(self.redact_text(text).split())
        return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"

    __call__ = one_line

    def value(self, value: object) -> object:
        """Redact every string inside a JSON-like value (dicts, lists, strings)."""
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, dict):
            return {self.redact_text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


def excerpt(text: str, limit: int, redactor: Redactor | None = None) -> str:
    """Whitespace-collapsed ``text`` capped at ``limit`` characters: redacted, then cut."""
    flat = " ".join((redactor.redact_text(text) if redactor else text).split())
    return flat if len(flat) <= limit else flat[: max(0, limit - 3)].rstrip() + "..."


# -- the process-wide registry -------------------------------------------------

_registered: set[str] = set()
_global = Redactor()


def register(secrets: Iterable[str]) -> None:
    """Add secrets (from the loaded config) to the process-wide redactor."""
    global _global
    new = {s for s in secrets if s} - _registered
    if new:
        _registered.update(new)
        _global = Redactor(_registered)


def redactor() -> Redactor:
    return _global


def redact(text: str) -> str:
    """Redact every registered secret from ``text`` (shape kept)."""
    return _global.redact_text(text)


def clear() -> None:
    """Forget registered secrets (tests)."""
    global _global
    _registered.clear()
    _global = Redactor()


class RedactingFormatter(logging.Formatter):
    """A log formatter whose whole output (message and traceback) is redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))

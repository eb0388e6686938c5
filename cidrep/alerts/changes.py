"""Watched evidence: when a fact a source reports changed, as pure functions.

A source may declare evidence keys whose change is news even when its verdict stays
(``Checker.watched_evidence``; the ``twilio`` source watches ``caller_name``, the
CNAM: a display name that changed may have been hijacked or reassigned). After each
run, ``cidrep.alerts.evaluate`` reads, for every (number, watched source) whose
latest history row is new since the last evaluation (``window``), that row and the
previous real row of the same number and source (one indexed step back:
``cidrep.store.alert_state.changed_evidence``), and asks ``evidence_change`` per key.
A change becomes a ``changed`` flip, sent to the number's channels unless the number
is muted (``hold``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cidrep.contract import Checker

MUTED = "muted"


@dataclass(frozen=True)
class EvidenceChange:
    """A watched value went from ``old`` to ``new`` (``new`` may be None: removed)."""

    old: Any
    new: Any


def evidence_change(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], key: str
) -> EvidenceChange | None:
    """The change of ``key`` between the previous real observation's evidence ``old``
    (None: there is none) and the new one's ``new``, or None when it is not news.

    ===========================  =================  ============  ===========================
    previous real observation    its value          new value     result
    ===========================  =================  ============  ===========================
    none (first real one)        -                  any           not news: nothing to compare
    any                          any                key absent    not news: not reported this
                                                                  time (e.g. Twilio called the
                                                                  number invalid)
    present                      absent or null     X             not news: the first value on
                                                                  file (also null -> null)
    present                      X                  X             not news
    present                      X                  Y != X        news: X -> Y
                                                    (null too)
    ===========================  =================  ============  ===========================

    A value appearing where there was none is the first name on file, not a change
    anyone made behind your back; a value that disappears is (the name people saw is
    gone). Values compare exactly (case included): the source already normalises what
    it stores (Twilio collapses whitespace), so any other difference is a real one.
    Only the row just before is compared: an error in between is skipped by the read
    (X, error, Y is still X -> Y); X, a row without the key, Y is not news.
    """
    if old is None or key not in new:
        return None
    before = old.get(key)
    after = new[key]
    if before is None or before == after:
        return None
    return EvidenceChange(before, after)


def window(last_run: str | None, run_id: int) -> int:
    """The run id after which history rows are new in this evaluation (pure): the rows
    with ``last < first_run_id <= run_id``. ``last_run`` is the run the previous
    evaluation covered (the ``changes`` mark).

    ==========================  =============  =========================================
    last evaluated run          last           why
    ==========================  =============  =========================================
    none (first evaluation)     run_id - 1     this run only: older history is no news
    m < run_id                  m              this run and any run since m whose alerts
                                               were never evaluated (it died before), so
                                               a crash loses no change
    m >= run_id                 run_id - 1     run ids were reused (the newest runs were
                                               erased): this run only
    ==========================  =============  =========================================

    The mark is written in the evaluation's transaction, so a change is announced once.
    """
    if last_run is None or not last_run.isdigit() or int(last_run) >= run_id:
        return run_id - 1
    return int(last_run)


def hold(muted_until: str | None, at: str) -> str | None:
    """Why a ``changed`` alert is not sent: ``muted`` while the number's mute lasts.

    A held change is still recorded (``alerts list`` shows it) but, unlike a verdict,
    it is not told again when the mute ends: it is a past event, not a state.
    Flapping holds only verdict changes; a changed name is news on its own.
    """
    return MUTED if muted_until is not None and muted_until > at else None


def watched_by(checkers: Mapping[str, type[Checker]]) -> dict[str, dict[str, str]]:
    """Per source name, the evidence keys it watches and what people call them."""
    return {
        name: dict(cls.watched_evidence) for name, cls in checkers.items() if cls.watched_evidence
    }


def shown(value: Any, limit: int = 60) -> str:
    """A watched value in a title: ``"ACME CORP"`` quoted, ``none`` for no value."""
    if value is None:
        return "none"
    text = " ".join(str(value).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f'"{text}"' if isinstance(value, str) else text

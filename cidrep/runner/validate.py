"""Guards between plugins and storage: observation validation and redaction.

Whatever a checker returns is checked before it is stored. Something malformed
becomes an error observation with a clear message: never a crash, never a verdict.
Every piece of text a source gave (label, category, url, evidence, error, a feed
record's detail) passes through the redactor first: a server that echoes a token
in a complaint field must not turn it into a stored label.
"""

from __future__ import annotations

import dataclasses
import json
import math

from cidrep.contract import Observation, Sighting, Verdict
from cidrep.redaction import MAX_MESSAGE, Redactor

__all__ = ["MAX_MESSAGE", "Redactor", "checked_observation", "checked_sighting"]

MAX_TEXT = 500  # label, category, url: what a source shows is short
MAX_CARRIER = 50  # a carrier or app name


def checked_observation(obs: object, number: str, redact: Redactor) -> Observation:
    """Return ``obs`` redacted if it is a well-formed observation for ``number``, else an
    error observation saying what is wrong with it."""
    problem = _problem(obs, number)
    if problem:
        return Observation.failed(
            number, redact(f"checker returned an invalid observation: {problem}")
        )
    assert isinstance(obs, Observation)
    if not redact and isinstance(obs.verdict, Verdict) and _short(obs):
        return obs  # nothing to redact or cut: the common case, kept cheap
    return dataclasses.replace(
        obs,
        verdict=Verdict(obs.verdict),
        label=_text(obs.label, redact),
        category=_text(obs.category, redact),
        url=_text(obs.url, redact),
        evidence=redact.value(obs.evidence),  # type: ignore[arg-type]
        error=redact(obs.error) if obs.error else obs.error,
        carrier=_text(obs.carrier, redact),
    )


def checked_sighting(sighting: Sighting, redact: Redactor) -> Sighting:
    """A feed record with every string in its detail redacted."""
    if not redact:
        return sighting
    return dataclasses.replace(sighting, detail=redact.value(sighting.detail))  # type: ignore[arg-type]


def _short(obs: Observation) -> bool:
    return all(
        v is None or len(v) <= MAX_TEXT for v in (obs.label, obs.category, obs.url, obs.carrier)
    )


def _text(value: str | None, redact: Redactor) -> str | None:
    if value is None:
        return None
    text = redact.redact_text(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _problem(obs: object, number: str) -> str | None:
    if not isinstance(obs, Observation):
        return f"expected Observation, got {type(obs).__name__}"
    if obs.number != number:
        return f"answer for {obs.number!r} where {number!r} was asked"
    if not isinstance(obs.verdict, Verdict):
        try:
            Verdict(obs.verdict)
        except ValueError:
            return f"unknown verdict {obs.verdict!r}"
    if obs.score is not None and not (
        isinstance(obs.score, int) and not isinstance(obs.score, bool) and 0 <= obs.score <= 100
    ):
        return f"score {obs.score!r} is not an integer 0-100"
    if obs.verdict == Verdict.ERROR and not obs.error:
        return "error verdict without a message"
    for name in ("label", "category", "url", "error", "carrier"):
        value = getattr(obs, name)
        if value is not None and not isinstance(value, str):
            return f"{name} is {type(value).__name__}, not text"
    if obs.carrier is not None and not 0 < len(obs.carrier.strip()) <= MAX_CARRIER:
        return f"carrier {obs.carrier[:20]!r} is empty or longer than {MAX_CARRIER} characters"
    if not isinstance(obs.evidence, dict):
        return "evidence is not a mapping"
    try:
        json.dumps(obs.evidence, allow_nan=False)
    except (TypeError, ValueError):
        return "evidence is not JSON-serialisable"
    if (
        not isinstance(obs.cost_units, int | float)
        or isinstance(obs.cost_units, bool)
        or not math.isfinite(obs.cost_units)
        or obs.cost_units < 0
    ):
        return f"cost_units {obs.cost_units!r} is not a non-negative number"
    return None

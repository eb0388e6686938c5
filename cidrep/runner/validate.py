"""Guards between plugins and storage: redaction and observation validation.

Whatever a checker returns is checked before it is stored. Something malformed
becomes an error observation with a clear message: never a crash, never a verdict.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from cidrep.contract import Observation, Verdict

MAX_MESSAGE = 300


class Redactor:
    """Replaces every configured secret with ``***`` and keeps messages to one line."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        text = " ".join(text.split())
        return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def checked_observation(obs: object, number: str, redact: Redactor) -> Observation:
    """Return ``obs`` if it is a well-formed observation for ``number``, else an error one."""
    problem = _problem(obs, number)
    if problem:
        return Observation.failed(number, f"checker returned an invalid observation: {problem}")
    assert isinstance(obs, Observation)
    fields = dict(obs.__dict__, verdict=Verdict(obs.verdict))
    if obs.error:
        fields["error"] = redact(obs.error)
    return Observation(**fields)


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
    if not isinstance(obs.evidence, dict):
        return "evidence is not a mapping"
    try:
        json.dumps(obs.evidence)
    except (TypeError, ValueError):
        return "evidence is not JSON-serialisable"
    if not isinstance(obs.cost_units, int | float) or obs.cost_units < 0:
        return f"cost_units {obs.cost_units!r} is not a non-negative number"
    return None

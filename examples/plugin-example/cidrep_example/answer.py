"""Pure rules for the example API's answer: reading it, and the verdict.

The API answers ``GET {base_url}/numbers/{e164}`` with one JSON object::

    {"spam": true, "label": "Scam Likely", "score": 97}

Reading (``parse``) is kept apart from deciding (``judge``), and neither does I/O, so
both are tested without HTTP. A field of the wrong type is a ``MalformedAnswer`` (an
error observation), never a verdict: a ``"true"`` string or a missing score must not
quietly become "clean". Reasons never quote the body, so no server text (which could
echo a key) reaches a message from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cidrep.contract import Verdict

LABEL_CHARS = 80


class MalformedAnswer(ValueError):
    """A body that is not the API's answer; the message is one short reason."""


@dataclass(frozen=True)
class Answer:
    spam: bool
    score: int  # 0-100
    label: str | None


def parse(body: bytes) -> Answer:
    """Read one 200 body: ``spam`` a boolean, ``score`` an integer 0-100, ``label``
    a string or absent/null. Anything else raises ``MalformedAnswer``."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedAnswer("not JSON") from None
    if not isinstance(data, dict):
        raise MalformedAnswer("not a JSON object")
    spam, score, label = data.get("spam"), data.get("score"), data.get("label")
    if not isinstance(spam, bool):
        raise MalformedAnswer("'spam' is missing or not a boolean")
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
        raise MalformedAnswer("'score' is missing or not an integer 0-100")
    if label is not None and not isinstance(label, str):
        raise MalformedAnswer("'label' is not a string")
    text = label.strip() if label is not None else ""
    return Answer(spam=spam, score=score, label=text or None)


def judge(answer: Answer, flag_score: int) -> Verdict:
    """The verdict for a well-formed answer.

    | spam  | score            | verdict |
    |-------|------------------|---------|
    | true  | any              | flagged |
    | false | >= flag_score    | flagged |
    | false | < flag_score     | clean   |

    Why: ``spam`` is the API's own judgement, so it is taken as is; ``score`` is a
    second signal with a threshold the user chooses (``flag_score``), so a number the
    API rates risky but has not labelled yet is still flagged. ``unknown`` and
    ``error`` never come from here: a number the API cannot judge is never asked
    (not E.164), and a failure is an error observation, not a verdict.
    """
    if answer.spam or answer.score >= flag_score:
        return Verdict.FLAGGED
    return Verdict.CLEAN

"""``[sources.example]`` settings: where the API is, its optional key, the flag rule.

Every option of ``SourceSettings`` (``enabled``, ``rate_limit``, ``interval``,
``timeout``, ``daily_budget``, ...) comes with it; a plugin adds only its own.

- ``base_url`` has no default: this example API lives wherever you run it, so the
  source is skipped (``preflight``), not failed, until it is set. A real plugin
  defaults to its API's host;
- ``api_key`` is a ``SecretStr``: cidrep checks it when the config loads, sends it only
  to ``base_url``'s host, and redacts it from every message, log and stored text;
- ``flag_score`` 80: the score at or above which a number is flagged even when the API
  does not call it spam (see ``answer.judge``).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from cidrep.contract import SourceSettings


class ExampleSettings(SourceSettings):
    """``[sources.example]``: a tiny JSON reputation API."""

    base_url: str = Field(
        default="", description="the API host; /numbers/{e164} is appended (required)"
    )
    api_key: SecretStr | None = Field(
        default=None, description="sent as the X-Api-Key header when set; secret, never stored"
    )
    flag_score: int = Field(
        default=80, ge=0, le=100, description="score (0-100) at or above which a number is flagged"
    )

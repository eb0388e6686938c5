"""The ``slack`` channel: alerts posted to a Slack incoming webhook.

The webhook URL is the credential (anyone holding it can post to the channel), so it
is a ``SecretStr``, masked by ``target()``, and never part of an error message:
failures name "Slack" and the host only, and Slack's answer is redacted of the URL
before it is quoted.

How Slack's answers are judged (``judge``), and why:

- 2xx is delivered (Slack answers ``200 ok``). Re-sending an accepted message
  would post it twice.
- Permanent (``DeliveryError(permanent=True)``): the webhook or its channel is
  gone or refused (404 ``no_service``/``no_team``/``channel_not_found``, 410
  ``channel_is_archived``, 403 ``invalid_token``/``action_prohibited``/
  ``team_disabled``, 401), or Slack rejected this very payload (400
  ``invalid_payload``/``no_text``..., 413): asking again with the same message
  cannot succeed, so the outbox stops and the channel shows failing. Slack's
  webhook-is-dead error codes are permanent whatever the status they come with.
- Anything else (5xx, 408, other statuses) is retryable: the outbox tries again on
  a later run, with backoff.
- 429 never reaches here: the core's poster waits out a short ``Retry-After`` and
  raises ``DeliveryError(retry_after=...)`` for a long one; redirects are refused
  there too.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal, cast
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator

from cidrep.contract import (
    Alert,
    Channel,
    ChannelHttp,
    ChannelSettings,
    DeliveryError,
    Redactor,
    excerpt,
)
from cidrep_plugins.slack.render import message

PERMANENT_STATUSES = frozenset({400, 401, 403, 404, 410, 413})
# Slack's error codes meaning the webhook (or what it posts to) is gone or refused.
PERMANENT_ERRORS = frozenset(
    {
        "invalid_token",
        "no_service",
        "no_team",
        "team_disabled",
        "channel_not_found",
        "channel_is_archived",
        "action_prohibited",
        "posting_to_general_channel_denied",
    }
)
_HINTS = {
    "invalid_token": "the webhook was revoked; create a new one and update the config",
    "no_service": "the webhook was removed or disabled; create a new one and update the config",
    "no_team": "the Slack workspace no longer exists",
    "team_disabled": "the Slack workspace is disabled",
    "channel_not_found": "the webhook's channel was deleted",
    "channel_is_archived": "the webhook's channel is archived",
    "action_prohibited": "a Slack admin restricted posting to that channel",
    "posting_to_general_channel_denied": "only admins may post to that channel",
}
ANSWER_EXCERPT = 100


class SlackSettings(ChannelSettings):
    """``[channels.<name>]`` with ``type = "slack"``."""

    # A bad URL must not be echoed by pydantic either (``input_value=...``).
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    type: Literal["slack"]
    url: SecretStr = Field(
        description="Slack incoming-webhook URL (https://hooks.slack.com/services/...); a secret"
    )

    @field_validator("url")
    @classmethod
    def _webhook_url(cls, value: SecretStr) -> SecretStr:
        """An http(s) URL with a host and no whitespace. The message never quotes it."""
        url = value.get_secret_value()
        if not url.startswith(("https://", "http://")):
            raise ValueError("must be a Slack incoming-webhook URL starting with https://")
        if any(ch.isspace() for ch in url):
            raise ValueError("must not contain spaces or line breaks")
        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
        if not host:
            raise ValueError("must name a host (https://hooks.slack.com/services/...)")
        return value


def judge(status: int, text: str, host: str, redact: Redactor) -> DeliveryError | None:
    """Slack's answer to a post: None when delivered, else the error to raise.

    See the module docstring for which answers are permanent. The message names
    the host and Slack's short error text (redacted, cut), never the URL.
    """
    code = text.strip()
    if code in PERMANENT_ERRORS:
        return DeliveryError(
            f"Slack ({host}) answered {status} {code}: {_HINTS[code]}", permanent=True
        )
    if 200 <= status < 300:
        return None
    said = excerpt(text, ANSWER_EXCERPT, redact) or "no error text"
    if status in PERMANENT_STATUSES:
        why = (
            "Slack rejected this message; sending it again cannot help"
            if status in (400, 413)
            else "the webhook is refused; check it in Slack and update the config"
        )
        return DeliveryError(f"Slack ({host}) answered {status} ({said}): {why}", permanent=True)
    return DeliveryError(f"Slack ({host}) answered {status} ({said}); will retry")


class SlackChannel(Channel):
    """Posts alerts to one Slack incoming webhook as a Block Kit message."""

    type: ClassVar[str] = "slack"
    description: ClassVar[str] = "Slack incoming webhook (Block Kit message)"
    disclosure: ClassVar[str] = (
        "Posts each alert (number, label, account, tags, sources, evidence, dispute links) "
        "to your Slack incoming webhook at hooks.slack.com"
    )
    settings_model: ClassVar[type[ChannelSettings]] = SlackSettings

    @property
    def slack(self) -> SlackSettings:
        return cast(SlackSettings, self.settings)

    def render(self, alert: Alert, now: float) -> dict[str, Any]:
        """The Block Kit payload and headers (pure; no secret in it)."""
        return {
            "body": message(alert),
            "headers": {
                "Content-Type": "application/json",
                "X-Cidrep-Idempotency-Key": alert.key,
            },
        }

    async def send(self, alert: Alert, http: ChannelHttp, now: float) -> None:
        """POST the rendered message; return when Slack accepted it, else raise."""
        rendered = self.render(alert, now)
        url = self.slack.url.get_secret_value()
        content = json.dumps(rendered["body"], ensure_ascii=False).encode("utf-8")
        answer = await http.post(url, content=content, headers=rendered["headers"])
        host = urlsplit(url).hostname or "Slack"
        error = judge(answer.status_code, answer.text, host, Redactor(self.slack.secrets()))
        if error is not None:
            raise error

"""The ``webhook`` channel: each alert POSTed as signed JSON to the user's own URL.

The body is ``Alert.as_dict()``, the versioned document described by
``docs/alert.schema.json``, serialised canonically (sorted keys, no spaces) so that
the bytes signed are the bytes sent, and a re-send of the same alert is the same
document. The signature is Stripe-style: ``X-Cidrep-Signature: t=<unix>,v1=<hex>``
where ``v1`` is HMAC-SHA256 over ``b"<t>." + body`` with the configured secret. The
timestamp is inside the MAC so a captured request cannot be replayed later than the
receiver's tolerance; ``X-Cidrep-Idempotency-Key`` (``Alert.key``, the same on every
re-send) lets a receiver drop duplicates.

Status rule: 2xx is delivered. 408, 425, 429 and 5xx are the receiver's passing
trouble, so the outbox tries again later. Every other answer (410 Gone, the other
4xx, a 3xx without a redirect) means the receiver rejects this request as such and
asking again cannot help: a permanent failure. Messages name the status and a cut
of the answer, redacted of the URL and secret (a receiver may echo its path).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import ConfigDict, Field, SecretStr, field_validator

from cidrep.contract import (
    Alert,
    Channel,
    ChannelHttp,
    ChannelSettings,
    DeliveryError,
    Redactor,
    credential_problem,
    excerpt,
)

MIN_SECRET = 16
SIGNATURE_HEADER = "X-Cidrep-Signature"
DEFAULT_TOLERANCE = 300
ANSWER_EXCERPT = 100
RETRYABLE_4XX = frozenset({408, 425, 429})
# A path segment at least this long is treated as a token when redacting answers.
MIN_TOKEN_SEGMENT = 8


def encode(body: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): canonical JSON, so a re-send is byte-identical."""
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _mac(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Cidrep-Signature`` value for ``body`` sent at unix time ``timestamp``.

    HMAC-SHA256 over ``b"<timestamp>." + body``: binding the timestamp into the MAC
    is what makes the receiver's freshness check meaningful.
    """
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(
    secret: bytes, header: str, body: bytes, now: float, tolerance: float = DEFAULT_TOLERANCE
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds.

    What a receiver runs on the raw request body (before any JSON parsing: re-encoding
    would change the bytes). A timestamp further than ``tolerance`` from ``now``, in
    either direction, is refused (a replay, or a clock too far off to trust). Several
    ``v1=`` entries are accepted, any one matching (room for rotating the secret).
    The comparison is constant-time (``hmac.compare_digest``).
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance:
        return False
    expected = _mac(secret, timestamp, body)
    matched = False
    for candidate in candidates:  # no early exit: every candidate is compared
        matched |= hmac.compare_digest(expected, candidate)
    return matched


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook URL, or None. Never quotes the URL (a secret)."""
    if url != url.strip() or any(c.isspace() or not c.isprintable() for c in url):
        return "has a space or control character (a pasted line break?); remove it"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a malformed port)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host"
    return None


def url_secrets(url: str) -> list[str]:
    """The parts of a URL that may be a credential on their own (a receiver's answer
    can echo them): the password, and any user name, path, path segment, query or
    query value long enough to be a token (short ones would mask ordinary words)."""
    try:
        parts = urlsplit(url)
        password = parts.password or ""
    except ValueError:
        return [url]
    path = parts.path.strip("/")
    found = [parts.username or "", path, *path.split("/"), parts.query, parts.fragment]
    found += [value for _, value in parse_qsl(parts.query)]
    return [password, *(s for s in found if len(s) >= MIN_TOKEN_SEGMENT)]


class WebhookSettings(ChannelSettings):
    """``[channels.<name>]`` with ``type = "webhook"``: where to POST, and the HMAC key."""

    # The values are secrets: pydantic must not quote them in a validation error.
    model_config = ConfigDict(hide_input_in_errors=True)

    type: Literal["webhook"]
    url: SecretStr = Field(description="http:// or https:// URL the alerts are POSTed to")
    secret: SecretStr = Field(
        description=f"HMAC-SHA256 key for X-Cidrep-Signature; at least {MIN_SECRET} characters"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        problem = url_problem(value.get_secret_value())
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if len(raw) < MIN_SECRET:
            raise ValueError(
                f"must be at least {MIN_SECRET} characters (a random string, e.g. from "
                "`openssl rand -hex 32`)"
            )
        problem = credential_problem(raw)
        if problem:
            raise ValueError(problem)
        return value


class WebhookChannel(Channel):
    """Signed JSON to the user's own endpoint (see the module docstring for the rules)."""

    type: ClassVar[str] = "webhook"
    description: ClassVar[str] = "signed JSON POST (HMAC-SHA256) to your own endpoint"
    disclosure: ClassVar[str] = (
        "POSTs each alert as signed JSON (number, label, account, tags, sources, evidence) "
        "to your URL"
    )
    settings_model: ClassVar[type[ChannelSettings]] = WebhookSettings
    settings: WebhookSettings

    def render(self, alert: Alert, now: float) -> dict[str, Any]:
        """The document and headers ``send`` posts at unix time ``now`` (pure).

        The signature depends on ``now``; everything else is the same on every re-send.
        """
        body = alert.as_dict()
        secret = self.settings.secret.get_secret_value().encode()
        return {
            "body": body,
            "headers": {
                "Content-Type": "application/json",
                "X-Cidrep-Idempotency-Key": alert.key,
                "X-Cidrep-Event": alert.kind,
                SIGNATURE_HEADER: sign(secret, int(now), encode(body)),
            },
        }

    async def send(self, alert: Alert, http: ChannelHttp, now: float) -> None:
        """POST the signed document; judge the answer by the status rule."""
        rendered = self.render(alert, now)
        response = await http.post(
            self.settings.url.get_secret_value(),
            content=encode(rendered["body"]),
            headers=rendered["headers"],
        )
        failure = judge(response.status_code, response.text, response.headers, self.redactor())
        if failure is not None:
            raise failure

    def redactor(self) -> Redactor:
        """Redacts the URL, its credential-like parts, and the secret."""
        return Redactor(
            [*self.settings.secrets(), *url_secrets(self.settings.url.get_secret_value())]
        )


def judge(
    status: int, text: str, headers: Any = None, redactor: Redactor | None = None
) -> DeliveryError | None:
    """None when ``status`` means delivered, else the ``DeliveryError`` to raise
    (permanent or not, by the status rule in the module docstring)."""
    if 200 <= status < 300:
        return None
    said = excerpt(text or "", ANSWER_EXCERPT, redactor)
    detail = f"webhook receiver answered {status}" + (f": {said}" if said else "")
    if status in RETRYABLE_4XX or 500 <= status < 600:
        return DeliveryError(detail, retry_after=_retry_after(headers))
    if status == 410:
        return DeliveryError(
            detail + " (the endpoint is gone: fix the URL in the config)", permanent=True
        )
    return DeliveryError(detail + " (rejected: sending again will not help)", permanent=True)


def _retry_after(headers: Any) -> float | None:
    """Retry-After in seconds, when the receiver gave a plain number."""
    value = headers.get("retry-after") if headers is not None else None
    if isinstance(value, str) and value.strip().isdigit():
        return float(value.strip())
    return None

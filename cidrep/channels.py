"""The channel contract: what an alert-channel plugin implements (Slack, webhooks, ...).

A channel type is a class registered through the ``cidrep`` pluggy hook
``register_channels(register)``, next to ``register_checkers``; the built-ins use the
same door as a third-party package. A channel declares:

- ``type``: the value of ``type = "..."`` in a ``[channels.<name>]`` section;
- ``description``, and ``disclosure``: what it sends, and to whom (``channels list``,
  ``privacy``);
- ``settings_model``: a ``ChannelSettings`` subclass. Its ``type`` field must be a
  ``Literal`` of the channel's type (the config picks the model by it). Targets and
  keys are ``SecretStr``: masked in every message, never stored.

It renders an ``Alert`` (pure, so ``alerts test --dry-run`` shows exactly what would
go out) and sends it through the ``ChannelHttp`` the core hands it (deadline, size
cap, no redirects, Retry-After). A failed send raises ``DeliveryError``: ``permanent``
when asking again cannot help (a deleted Slack webhook), so the delivery stops and
the channel is shown failing; otherwise the outbox retries on later runs with backoff,
or after ``retry_after`` seconds. Every payload carries ``Alert.key``, stable across
re-sends, so a receiver can de-duplicate.

Plugins import this through ``cidrep.contract``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from cidrep.sourcesettings import Duration

ALERT_SCHEMA_VERSION = 1

# Alert kinds (``Alert.kind``); the docs table in README "Alerts" explains each.
KINDS = (
    "flagged",  # a number became flagged (quorum of its sources, confirmed)
    "cleared",  # a flagged number is clean again
    "reminder",  # still flagged after renotify_after
    "flapping",  # too many flips: further per-flip alerts are held
    "changed",  # a watched piece of evidence changed (a number's caller name, CNAM)
    "source_failing",  # a source has failed (or gone stale) failing_after times
    "source_recovered",  # ... and is current again
    "digest",  # the period summary (``cidrep digest --send``)
    "test",  # ``cidrep alerts test``
)


@dataclass(frozen=True)
class SourceLine:
    """What one source says about the number, as of the alert."""

    source: str
    verdict: str | None
    label: str | None = None  # the label as the source shows it ("Scam Likely")
    category: str | None = None
    score: int | None = None
    since: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    url: str | None = None


@dataclass(frozen=True)
class Dispute:
    """Where to ask for a label to be reviewed."""

    name: str
    url: str


@dataclass(frozen=True)
class Alert:
    """One message, ready for any channel to render. Built once, when the change is
    recorded, and stored; every re-send renders the same content.

    ``title`` is one line, ``text`` the plain-text body (Slack's fallback, email).
    ``number`` and friends are None for source and digest notices.
    """

    kind: str
    key: str  # idempotency key: the same for every (re-)send of this alert
    at: str  # when the change was recorded (ISO, UTC)
    title: str
    text: str
    number: str | None = None  # E.164
    display: str | None = None  # the number as people write it
    number_label: str | None = None  # the user's own label for the number
    account: str | None = None
    tags: list[str] = field(default_factory=list)
    state: str | None = None  # flagged | clean, for number alerts
    sources: list[SourceLine] = field(default_factory=list)  # the sources behind it
    changed_by: list[str] = field(default_factory=list)  # sources whose change caused it
    flagged_for: str | None = None  # cleared: how long it was flagged ("3d 4h")
    dispute: list[Dispute] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # kind-specific figures

    def as_dict(self) -> dict[str, Any]:
        """The versioned JSON form (``docs/alert.schema.json``)."""
        return {"schema_version": ALERT_SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        data = {k: v for k, v in data.items() if k != "schema_version"}
        data["sources"] = [SourceLine(**s) for s in data.get("sources", [])]
        data["dispute"] = [Dispute(**d) for d in data.get("dispute", [])]
        return cls(**data)


class DeliveryError(Exception):
    """A send failed. ``permanent``: retrying cannot help; ``retry_after``: seconds the
    receiver asked us to wait. The message is one line and never holds a secret."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class ChannelResponse(Protocol):
    status_code: int
    headers: Any
    text: str


class ChannelHttp(Protocol):
    """The poster the core hands a channel.

    ``post`` sends one request to ``url`` within the channel's ``timeout`` (connect to
    last byte), never follows a redirect (a webhook URL is a secret: a redirect is a
    ``DeliveryError``), reads at most 64 KB of the answer, and waits out a 429's
    Retry-After up to the channel's ``retry_after_max`` (beyond it: ``DeliveryError``
    with ``retry_after``). Transport failures raise ``DeliveryError``; any status is
    returned for the channel to judge.
    """

    async def post(
        self, url: str, *, content: bytes, headers: dict[str, str] | None = None
    ) -> ChannelResponse: ...


class ChannelSettings(BaseModel):
    """Options every ``[channels.<name>]`` section has; channel types subclass it.

    ``hide_input_in_errors``: a validation error never carries a value (a channel
    URL is a secret), whoever prints it.
    """

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    type: str
    enabled: bool = Field(default=True, description="send to this channel at all")
    timeout: Duration = Field(default=timedelta(seconds=10), description="deadline per send")
    retry_after_max: Duration = Field(
        default=timedelta(seconds=30),
        description="longest Retry-After waited within a run; longer waits for a later run",
    )

    def secrets(self) -> list[str]:
        """Every secret value (URL, key) and the secret parts of secret URLs, for
        redaction."""
        found = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                found.append(value.get_secret_value())
                found += url_secret_parts(value.get_secret_value())
        return found


def mask_url(url: str) -> str:
    """A URL shown without its secret parts: scheme, host and port only.

    ``https://hooks.slack.com/services/T000/B000/XXXX`` -> ``https://hooks.slack.com/***``.
    Userinfo, path and query are never shown: in many services a single path segment
    is the credential (``https://ntfy.sh/<topic>``, ``https://webhook.site/<uuid>``).
    """
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return "***"
    port = f":{parts.port}" if parts.port else ""
    shown = f"{parts.scheme}://{parts.hostname}{port}"
    hidden = parts.path.strip("/") or parts.query or parts.username
    return shown + "/***" if hidden else shown


def url_secret_parts(value: str) -> list[str]:
    """The parts of a secret URL that are secrets on their own (for redaction): its
    password, its path, and the path segments and query values that look like tokens
    (16+ characters, or 8+ with a digit). A server echoing only its path or a token
    (``/services/T0/B0/XXXX``) is then redacted too, while plain words of the path
    (``services``, ``hooks``) are not blanked out of every message."""
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc:
        return []
    found = [parts.password or "", parts.path if len(parts.path) > 1 else ""]
    found += [seg for seg in parts.path.split("/") if _tokenish(seg)]
    found += [v for _, v in parse_qsl(parts.query) if _tokenish(v)]
    return [f for f in dict.fromkeys(found) if f]


def _tokenish(text: str) -> bool:
    return len(text) >= 16 or (len(text) >= 8 and any(c.isdigit() for c in text))


class Channel:
    """A configured channel: one ``[channels.<name>]`` section of a registered type."""

    type: ClassVar[str]
    description: ClassVar[str]
    disclosure: ClassVar[str]
    settings_model: ClassVar[type[ChannelSettings]] = ChannelSettings

    def __init__(self, name: str, settings: ChannelSettings) -> None:
        self.name = name
        self.settings = settings

    def target(self) -> str:
        """Where it sends, masked (``channels list``). Never the secret itself."""
        url = getattr(self.settings, "url", None)
        if isinstance(url, SecretStr):
            return mask_url(url.get_secret_value())
        return ""

    def preflight(self) -> str | None:
        """Why this channel cannot send at all (a missing optional package), else None.

        Side-effect free. A channel with a reason is shown failing; its deliveries fail
        with that reason, permanently.
        """
        return None

    def render(self, alert: Alert, now: float) -> dict[str, Any]:
        """What ``send`` would post for ``alert`` at unix time ``now`` (pure): a dict
        with ``body`` (the JSON document) and ``headers``. Secrets are not in it."""
        raise NotImplementedError

    async def send(self, alert: Alert, http: ChannelHttp, now: float) -> None:
        """Deliver ``alert``; return on success, raise ``DeliveryError`` otherwise."""
        raise NotImplementedError

"""The ``apprise`` channel: one Apprise URL, so email, Teams, Discord, PagerDuty,
ntfy and the rest of Apprise's 100+ services come without cidrep writing any of them.

Apprise is an optional extra (``pip install 'cidrep[apprise]'``) and is imported only
inside the methods that send: listing channels, loading the config and importing
this module work without it, and ``preflight`` says what to install.

An Apprise URL packs credentials everywhere (user, password, host, path, query:
``pagerduty://{integration}@{apikey}``, ``tgram://{bot_token}/{chat}``), so:

- ``target`` shows the scheme and the host only when the host looks like a real host
  name (a dotted name, an IP, localhost); anything else may be a token and is masked;
- every message raised is redacted of the URL and of each of its parts.

Apprise reports a failed delivery as a false result, not an exception, and does not
say whether retrying can help: a false result is retryable (the outbox's backoff and
``expire_after`` bound it). A URL Apprise cannot parse is permanent. Apprise's
redirect following is turned off (the core's rule: a channel URL is a secret);
``?redirect=yes`` in the URL turns it back on.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import ipaddress
import re
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, unquote

from pydantic import ConfigDict, Field, SecretStr, field_validator

from cidrep.contract import Alert, Channel, ChannelHttp, ChannelSettings, DeliveryError, Redactor

INSTALL_HINT = "apprise is not installed: pip install 'cidrep[apprise]'"
INVALID_URL = "not a valid Apprise URL (see https://github.com/caronc/apprise/wiki)"
REASON_LIMIT = 100
# A URL part at least this long is redacted wherever it appears (shorter ones would
# mask ordinary words). The user part (often a key: ``pagerduty://{key}@...``) is
# redacted from MIN_USER characters, the password whatever its length.
MIN_TOKEN = 6
MIN_USER = 3
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")

# Apprise's notify_type per alert kind: how the receiving service colours it.
NOTIFY_TYPES: dict[str, str] = {
    "flagged": "failure",
    "cleared": "success",
    "reminder": "warning",
    "flapping": "warning",
    "changed": "warning",  # a changed caller name (CNAM): look, it may be hijacked
    "source_failing": "warning",
    "source_recovered": "success",
    "digest": "info",
    "test": "info",
}


def _split(url: str) -> tuple[str, str, str, str, str]:
    """(scheme, user, password, host[:port], rest) without urllib's port checks: in
    an Apprise URL the "host" is often a token (``tgram://123:ABC/...``)."""
    scheme, _, rest = url.partition("://")
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, rest = rest[:cut], rest[cut:]
    userinfo, at, hostport = netloc.rpartition("@")
    user, _, password = userinfo.partition(":") if at else ("", "", "")
    return scheme, user, password, hostport, rest


def _real_host(hostport: str) -> bool:
    """True for a dotted DNS name, an IP or localhost (with an optional port): worth
    showing. A bare word or anything with other characters may be a token."""
    host, colon, port = hostport.rpartition(":")
    if not colon or not port.isdigit() or (":" in host and not host.endswith("]")):
        host = hostport  # no port: the colon belongs to the host (or to a token)
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.split(".")
    return host == "localhost" or (len(labels) > 1 and all(_LABEL.match(p) for p in labels))


def masked(url: str) -> str:
    """``url`` shown safely: ``mailto://smtp.example.com/***``, ``pagerduty://***``."""
    if not _SCHEME.match(url):
        return "***"
    scheme, user, password, hostport, rest = _split(url)
    if not _real_host(hostport):
        return f"{scheme}://***"
    hidden = user or password or rest.strip("/?#")
    return f"{scheme}://{hostport}" + ("/***" if hidden else "")


def url_secrets(url: str) -> list[str]:
    """The URL and every part of it that may be a credential, raw and URL-decoded."""
    _, user, password, hostport, rest = _split(url)
    path, _, query = rest.partition("?")
    parts = [hostport if not _real_host(hostport) else "", path.strip("/"), query]
    parts += path.split("/") + [value for _, value in parse_qsl(query)]
    found = [url, password, unquote(password)]
    found += [u for u in (user, unquote(user)) if len(u) >= MIN_USER]
    for part in parts:
        found += [p for p in (part, unquote(part)) if len(p) >= MIN_TOKEN]
    return [s for s in found if s]


class AppriseSettings(ChannelSettings):
    """``[channels.<name>]`` with ``type = "apprise"``: one Apprise URL."""

    # The URL holds credentials: pydantic must not quote it in a validation error.
    model_config = ConfigDict(hide_input_in_errors=True)

    type: Literal["apprise"]
    url: SecretStr = Field(
        description=(
            "an Apprise URL: mailto://, msteams://, discord://, pagerduty://, json://, ... "
            "(https://github.com/caronc/apprise/wiki)"
        )
    )

    @field_validator("url")
    @classmethod
    def _looks_like_a_url(cls, value: SecretStr) -> SecretStr:
        """Only the shape is checked here (Apprise may not be installed when the config
        is loaded); whether Apprise knows the scheme is checked when sending."""
        raw = value.get_secret_value()
        if any(c.isspace() or not c.isprintable() for c in raw):
            raise ValueError("has a space or control character (a pasted line break?)")
        if not _SCHEME.match(raw):
            raise ValueError("must be an Apprise URL, scheme://... (e.g. mailto://...)")
        return value


class AppriseChannel(Channel):
    """Any Apprise service, through one URL (see the module docstring for the rules)."""

    type: ClassVar[str] = "apprise"
    description: ClassVar[str] = "any Apprise service: email, Teams, Discord, PagerDuty, ntfy, ..."
    disclosure: ClassVar[str] = (
        "sends each alert's title and text (number, label, account, sources) to the "
        "service named by your Apprise URL"
    )
    settings_model: ClassVar[type[ChannelSettings]] = AppriseSettings
    settings: AppriseSettings

    def target(self) -> str:
        return masked(self.settings.url.get_secret_value())

    def preflight(self) -> str | None:
        """The missing optional package, if it is missing (no import: side-effect free)."""
        return INSTALL_HINT if importlib.util.find_spec("apprise") is None else None

    def render(self, alert: Alert, now: float) -> dict[str, Any]:
        """Title, plain-text body (with where to dispute) and Apprise's notify_type."""
        body = alert.text
        if alert.dispute:
            body += "\n\nDispute the label:\n" + "\n".join(
                f"- {d.name}: {d.url}" for d in alert.dispute
            )
        kind = NOTIFY_TYPES.get(alert.kind, "info")
        return {"body": {"title": alert.title, "body": body, "notify_type": kind}, "headers": {}}

    async def send(self, alert: Alert, http: ChannelHttp, now: float) -> None:
        """Notify through Apprise in a worker thread (it blocks), within ``timeout``.

        ``http`` is unused: Apprise brings its own clients (SMTP, requests, ...).
        """
        missing = self.preflight()
        if missing:
            raise DeliveryError(missing, permanent=True)
        content = self.render(alert, now)["body"]
        seconds = self.settings.timeout.total_seconds()
        try:
            async with asyncio.timeout(seconds):
                failed = await asyncio.to_thread(self._notify, content, seconds)
        except TimeoutError:
            raise DeliveryError(f"{self.target()} did not finish within {seconds:g}s") from None
        except DeliveryError:
            raise
        except Exception as exc:  # Apprise's own failure: one redacted line
            reason = self._reason(f"{type(exc).__name__}: {exc}")
            raise DeliveryError(f"apprise failed for {self.target()}: {reason}") from None
        if failed is not None:
            said = f": {failed}" if failed else ""
            raise DeliveryError(f"apprise could not deliver to {self.target()}{said}")

    def _notify(self, content: dict[str, str], seconds: float) -> str | None:
        """Runs in the worker thread: None when delivered, else Apprise's last complaint
        (redacted, possibly empty)."""
        import apprise

        asset = apprise.AppriseAsset()
        if hasattr(asset, "http_redirects"):
            asset.http_redirects = False
        notifier = apprise.Apprise(asset=asset)
        if not notifier.add(self.settings.url.get_secret_value()):
            raise DeliveryError(INVALID_URL, permanent=True)
        extra: dict[str, Any] = {}
        if "timeout" in inspect.signature(notifier.notify).parameters:  # apprise >= 2
            extra["timeout"] = seconds
        result = notifier.notify(**content, **extra)
        try:
            return None if result else self._complaint(result)
        finally:
            getattr(result, "close", lambda: None)()

    def _complaint(self, result: Any) -> str:
        """The last warning or error Apprise logged for this call (apprise >= 2)."""
        logs = getattr(result, "logs", None)
        entries = [e for e in (logs() if logs else []) if e.level in ("WARNING", "ERROR")]
        return self._reason(entries[-1].message) if entries else ""

    def _reason(self, text: str) -> str:
        """``text`` as one line: every part of the URL redacted, then cut."""
        secrets = [*self.settings.secrets(), *url_secrets(self.settings.url.get_secret_value())]
        line = Redactor(secrets).one_line(text)
        return line if len(line) <= REASON_LIMIT else line[: REASON_LIMIT - 3] + "..."

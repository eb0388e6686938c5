"""The Apprise channel: end to end through Apprise's own ``json://`` service against a
real receiver on 127.0.0.1, and what it says (and never says) when that fails."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from localserver import LocalServer, Reply
from pydantic import ValidationError

from cidrep.channels import KINDS, Alert, DeliveryError, Dispute
from cidrep.config import load_config
from cidrep.errors import ConfigError
from cidrep.plugins import get_channels, get_checkers
from cidrep_plugins.apprise import AppriseChannel, AppriseSettings
from cidrep_plugins.apprise.channel import INSTALL_HINT, NOTIFY_TYPES, masked

PASSWORD = "pa55-w0rd-x"
TOKEN = "t0ken-abcdef-123456"
PATH = f"/hooks/{TOKEN}"

FLAGGED = Alert(
    kind="flagged",
    key="flip:42:flagged",
    at="2025-06-15T14:00:00Z",
    title="+1 415-555-0100 is flagged (Main line)",
    text="+1 415-555-0100 (Main line) is now flagged by ftc: Robocall.",
    number="+14155550100",
    dispute=[Dispute(name="Free Caller Registry", url="https://www.freecallerregistry.com/")],
)
CLEARED = Alert(
    kind="cleared",
    key="flip:43:cleared",
    at="2025-06-18T09:30:00Z",
    title="+1 415-555-0100 is clean again",
    text="No source flags +1 415-555-0100 any more.",
    number="+14155550100",
)


def json_url(server: LocalServer, path: str = PATH) -> str:
    """Apprise's generic JSON service pointed at the local server, with credentials."""
    return server.url.replace("http://", f"json://robot:{PASSWORD}@") + path


def make_channel(url: str, **options: object) -> AppriseChannel:
    return AppriseChannel("team", AppriseSettings(type="apprise", url=url, **options))


def deliver(channel: AppriseChannel, alert: Alert = FLAGGED) -> None:
    asyncio.run(channel.send(alert, None, 0.0))  # type: ignore[arg-type]  (http unused)


def failure(channel: AppriseChannel, alert: Alert = FLAGGED) -> DeliveryError:
    with pytest.raises(DeliveryError) as err:
        deliver(channel, alert)
    return err.value


def no_secret_in(text: str) -> None:
    assert PASSWORD not in text and TOKEN not in text and "robot" not in text


# -- delivery, end to end -----------------------------------------------------------


def test_title_and_body_arrive_through_apprise_json():
    with LocalServer() as server:
        server.route(PATH, Reply(200, b"ok"))
        deliver(make_channel(json_url(server)))
        (request,) = server.requests
    sent = json.loads(request.body)
    assert sent["title"] == FLAGGED.title
    assert sent["message"].startswith(FLAGGED.text)
    assert "Free Caller Registry: https://www.freecallerregistry.com/" in sent["message"]
    assert sent["type"] == "failure"
    assert request.method == "POST" and request.path == PATH


def test_notify_type_follows_the_kind():
    with LocalServer() as server:
        server.route(PATH, Reply(200, b"ok"))
        deliver(make_channel(json_url(server)), CLEARED)
        (request,) = server.requests
    assert json.loads(request.body)["type"] == "success"


def test_render_is_pure_and_maps_every_kind():
    channel = make_channel("mailto://robot:pw@smtp.example.com")
    rendered = channel.render(FLAGGED, 0.0)
    assert rendered == channel.render(FLAGGED, 99.0)
    assert rendered["headers"] == {}
    assert rendered["body"]["title"] == FLAGGED.title
    assert rendered["body"]["notify_type"] == "failure"
    assert set(NOTIFY_TYPES.values()) <= {"info", "success", "warning", "failure"}
    assert set(NOTIFY_TYPES) == set(KINDS)


# -- failures -----------------------------------------------------------------------


@pytest.mark.parametrize("url", ["bogus://whatever/x", "json://", "mailto://"])
def test_a_url_apprise_cannot_use_is_permanent_and_not_echoed(url):
    err = failure(make_channel(url))
    assert err.permanent and "not a valid Apprise URL" in str(err)
    assert "whatever" not in str(err)


def test_a_server_error_is_retryable_and_redacted():
    with LocalServer() as server:
        server.route(PATH, lambda r: Reply(500, f"no hook {r.path} {PASSWORD}"))
        err = failure(make_channel(json_url(server)))
    assert not err.permanent
    assert "500" in str(err)
    no_secret_in(str(err))


def test_an_unreachable_service_is_retryable_and_redacted():
    with LocalServer() as server:
        dead = json_url(server)  # the port is closed once the server stops
    err = failure(make_channel(dead))
    assert not err.permanent
    no_secret_in(str(err))


def test_a_slow_service_is_cut_at_the_timeout():
    with LocalServer() as server:
        server.route(PATH, Reply(200, chunks=iter([b"late"] * 50), delay=0.2))
        started = time.monotonic()
        err = failure(make_channel(json_url(server), timeout="1s"))
        elapsed = time.monotonic() - started
    assert not err.permanent
    assert elapsed < 3
    no_secret_in(str(err))


def test_the_channel_deadline_holds_even_if_apprise_ignores_its_own(monkeypatch):
    """``asyncio.timeout`` around the worker thread: Apprise's per-call timeout exists
    only in 2.x, and a plugin's blocking client may not honour it."""
    import apprise

    release = threading.Event()
    monkeypatch.setattr(apprise.Apprise, "notify", lambda self, **kw: release.wait(10))
    channel = make_channel(f"json://robot:{PASSWORD}@127.0.0.1{PATH}", timeout="1s")

    async def go() -> tuple[DeliveryError, float]:
        started = time.monotonic()
        try:
            with pytest.raises(DeliveryError) as err:
                await channel.send(FLAGGED, None, 0.0)  # type: ignore[arg-type]
            return err.value, time.monotonic() - started
        finally:
            release.set()  # let the stuck worker thread go

    err, elapsed = asyncio.run(go())
    assert not err.permanent and "did not finish within 1s" in str(err)
    assert elapsed < 3
    no_secret_in(str(err))


def test_an_exception_inside_apprise_becomes_a_redacted_delivery_error(monkeypatch):
    import apprise

    def explode(self, **kwargs):
        raise RuntimeError(f"cannot post to json://robot:{PASSWORD}@host{PATH}")

    monkeypatch.setattr(apprise.Apprise, "notify", explode)
    err = failure(make_channel(f"json://robot:{PASSWORD}@127.0.0.1{PATH}"))
    assert "RuntimeError" in str(err) and "\n" not in str(err)
    no_secret_in(str(err))


# -- without apprise installed ------------------------------------------------------


def test_preflight_names_the_extra_when_apprise_is_missing(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "apprise" else real(name)
    )
    channel = make_channel("mailto://robot:pw@smtp.example.com")
    assert channel.preflight() == INSTALL_HINT
    assert "pip install 'cidrep[apprise]'" in INSTALL_HINT
    err = failure(channel)
    assert err.permanent and str(err) == INSTALL_HINT


def test_preflight_is_clear_when_apprise_is_installed():
    assert make_channel("mailto://robot:pw@smtp.example.com").preflight() is None


def test_importing_the_plugin_does_not_import_apprise():
    code = (
        "import sys, cidrep_plugins.apprise as p\n"
        "from cidrep.plugins import get_channels\n"
        "assert 'apprise' in get_channels()\n"
        "c = p.AppriseChannel('x', p.AppriseSettings(type='apprise', url='mailto://a:b@c.d'))\n"
        "c.target(); c.preflight(); c.render(__import__('cidrep.channels').channels.Alert("
        "kind='test', key='k', at='t', title='t', text='t'), 0)\n"
        "print('apprise' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


# -- target: never a credential -----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mailto://user:pass@smtp.example.com", "mailto://smtp.example.com/***"),
        ("mailtos://user:pass@smtp.example.com:465/?to=a@example.com", None),
        ("pagerduty://integrationkey@apikey123456/", "pagerduty://***"),
        ("tgram://123456789:AAHbottoken/-100123", "tgram://***"),
        ("discord://112233445566/webhooktokenvalue", "discord://***"),
        ("msteams://team@tokenA/tokenB/tokenC/", "msteams://***"),
        ("ntfy://ntfy.sh/private-topic", "ntfy://ntfy.sh/***"),
        ("json://127.0.0.1:8080/hook/abc", "json://127.0.0.1:8080/***"),
        ("json://[::1]:8080/hook", "json://[::1]:8080/***"),
        ("json://localhost", "json://localhost"),
        ("no-scheme-secret", "***"),
    ],
)
def test_target_never_shows_credentials(url, shown):
    target = make_channel(url).target() if "://" in url else masked(url)
    if shown is not None:
        assert target == shown
    for secret in ("pass", "apikey", "bottoken", "webhooktoken", "token", "private", "abc"):
        assert secret not in target
    assert "@" not in target and "?" not in target


# -- config -------------------------------------------------------------------------


def test_the_channel_is_registered_through_the_plugin_door():
    assert get_channels()["apprise"] is AppriseChannel


def _load(tmp_path: Path, url: str) -> AppriseSettings:
    config = tmp_path / "ap.toml"
    config.write_text(f'[channels.team]\ntype = "apprise"\nurl = {json.dumps(url)}\n')
    config.chmod(0o600)
    return load_config(config, get_checkers()).settings.channels["team"]


def test_a_section_loads(tmp_path):
    settings = _load(tmp_path, f"mailto://robot:{PASSWORD}@smtp.example.com")
    assert isinstance(settings, AppriseSettings)
    assert settings.timeout == timedelta(seconds=10)
    assert PASSWORD not in repr(settings)


@pytest.mark.parametrize("url", [f"robot:{PASSWORD}@smtp.example.com", f"mailto://{PASSWORD} x"])
def test_a_url_without_a_scheme_is_refused_without_echoing_it(tmp_path, url):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, url)
    assert "channels.team.url" in str(err.value) and PASSWORD not in str(err.value)
    with pytest.raises(ValidationError) as raw:
        AppriseSettings(type="apprise", url=url)
    assert PASSWORD not in str(raw.value)


def test_requests_carry_no_credentials_in_the_recorded_path():
    """Apprise sends the user:password as Basic auth, not in the path (sanity check
    of the fixture: the redaction tests above rely on where the secrets travel)."""
    with LocalServer() as server:
        server.route(PATH, Reply(200, b"ok"))
        deliver(make_channel(json_url(server)))
        (request,) = server.requests
    assert PASSWORD not in request.path
    assert any(k.lower() == "authorization" for k in request.headers)

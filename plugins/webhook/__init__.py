"""The built-in ``webhook`` channel: every alert POSTed as HMAC-signed JSON.

Registered through the same pluggy hook a third-party plugin uses, and like one it
imports nothing from cidrep but ``cidrep.contract``. Importing it stays light (no
HTTP client: the core hands the channel its poster).
"""

from __future__ import annotations

from collections.abc import Callable

from cidrep.contract import hookimpl
from cidrep_plugins.webhook.channel import WebhookChannel, WebhookSettings, sign, verify

__all__ = ["WebhookChannel", "WebhookSettings", "register_channels", "sign", "verify"]


@hookimpl
def register_channels(register: Callable[[type], None]) -> None:
    register(WebhookChannel)

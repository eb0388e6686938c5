"""The built-in ``slack`` alert channel: a Block Kit message to an incoming webhook.

Registered through the same pluggy hook a third-party plugin uses. It provides a
channel type only, so it implements ``register_channels`` and nothing else (pluggy
calls only the hooks a module implements).
"""

from __future__ import annotations

from collections.abc import Callable

from cidrep.contract import hookimpl
from cidrep_plugins.slack.channel import SlackChannel, SlackSettings

__all__ = ["SlackChannel", "SlackSettings", "register_channels"]


@hookimpl
def register_channels(register: Callable[[type], None]) -> None:
    register(SlackChannel)

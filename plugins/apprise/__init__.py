"""The built-in ``apprise`` channel: any Apprise URL (email, Teams, Discord, ...).

Registered through the same pluggy hook a third-party plugin uses, and like one it
imports nothing from cidrep but ``cidrep.contract``. Apprise itself is an optional
extra (``cidrep[apprise]``): importing this module never imports it, so the CLI can
list channels, and load a config naming this one, without it installed.
"""

from __future__ import annotations

from collections.abc import Callable

from cidrep.contract import hookimpl
from cidrep_plugins.apprise.channel import AppriseChannel, AppriseSettings

__all__ = ["AppriseChannel", "AppriseSettings", "register_channels"]


@hookimpl
def register_channels(register: Callable[[type], None]) -> None:
    register(AppriseChannel)

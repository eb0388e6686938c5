"""``telnyx`` checker: Telnyx Number Reputation (the Hiya-backed spam risk of your numbers).

Registered through the same pluggy hook a third-party plugin uses, and like one it
imports nothing from cidrep but ``cidrep.contract``.
"""

from __future__ import annotations

from collections.abc import Callable

from cidrep.contract import hookimpl

from .checker import TelnyxChecker
from .settings import TelnyxSettings

__all__ = ["TelnyxChecker", "TelnyxSettings", "register_checkers"]


@hookimpl
def register_checkers(register: Callable[[type], None]) -> None:
    register(TelnyxChecker)

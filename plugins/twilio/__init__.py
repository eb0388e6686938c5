"""``twilio`` checker: Twilio Lookup v2 caller name (CNAM) and line type, plus the
optional Nomorobo Spam Score add-on (paid per lookup).

Registered through the same pluggy hook a third-party plugin uses, and like one it
imports nothing from cidrep but ``cidrep.contract``.
"""

from __future__ import annotations

from collections.abc import Callable

from cidrep.contract import hookimpl

from .checker import TwilioChecker
from .settings import TwilioSettings

__all__ = ["TwilioChecker", "TwilioSettings", "register_checkers"]


@hookimpl
def register_checkers(register: Callable[[type], None]) -> None:
    register(TwilioChecker)

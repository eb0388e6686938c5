"""``usacallerlookup`` checker: FTC complaint profiles from USACallerLookup's free JSON API.

Registered through the same pluggy hook a third-party plugin uses, and like one it
imports nothing from cidrep but ``cidrep.contract``.
"""

from __future__ import annotations

from collections.abc import Callable

from cidrep.contract import hookimpl

from .checker import UsaCallerLookupChecker
from .settings import UsaCallerLookupSettings

__all__ = ["UsaCallerLookupChecker", "UsaCallerLookupSettings", "register_checkers"]


@hookimpl
def register_checkers(register: Callable[[type], None]) -> None:
    register(UsaCallerLookupChecker)

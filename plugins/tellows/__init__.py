"""Built-in ``tellows`` checker: the tellows community score (1-9), a paid partner API.

Registered through the same pluggy hook a third-party plugin uses, and like one it
imports nothing from cidrep but ``cidrep.contract``.
"""

from __future__ import annotations

from collections.abc import Callable

from cidrep.contract import hookimpl

from .checker import TellowsChecker
from .settings import TellowsSettings

__all__ = ["TellowsChecker", "TellowsSettings", "register_checkers"]


@hookimpl
def register_checkers(register: Callable[[type], None]) -> None:
    register(TellowsChecker)

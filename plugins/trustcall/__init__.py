"""``trustcall`` checker: DNCScrub TrustCall, spam labels per carrier and app (paid).

Registered through the same pluggy hook a third-party plugin uses, and like one it
imports nothing from cidrep but ``cidrep.contract``.
"""

from __future__ import annotations

from collections.abc import Callable

from cidrep.contract import hookimpl

from .checker import TrustcallChecker
from .settings import TrustcallSettings

__all__ = ["TrustcallChecker", "TrustcallSettings", "register_checkers"]


@hookimpl
def register_checkers(register: Callable[[type], None]) -> None:
    register(TrustcallChecker)

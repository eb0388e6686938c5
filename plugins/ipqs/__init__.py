"""``ipqs`` checker: IPQualityScore phone reputation (paid beyond a free tier, needs a key).

Registered through the same pluggy hook a third-party plugin uses, and like one it
imports nothing from cidrep but ``cidrep.contract``.
"""

from __future__ import annotations

from collections.abc import Callable

from cidrep.contract import hookimpl

from .checker import IpqsChecker
from .settings import IpqsSettings

__all__ = ["IpqsChecker", "IpqsSettings", "register_checkers"]


@hookimpl
def register_checkers(register: Callable[[type], None]) -> None:
    register(IpqsChecker)

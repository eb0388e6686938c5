"""Built-in ``fcc`` checker: FCC consumer complaints (opendata.fcc.gov, Socrata).

Registered through the same pluggy hook a third-party plugin uses, and like one it
imports nothing from cidrep but ``cidrep.contract``.
"""

from __future__ import annotations

from collections.abc import Callable

from cidrep.contract import hookimpl

from .checker import FccChecker
from .settings import FccSettings

__all__ = ["FccChecker", "FccSettings", "register_checkers"]


@hookimpl
def register_checkers(register: Callable[[type], None]) -> None:
    register(FccChecker)

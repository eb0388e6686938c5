"""Built-in ``fcc`` checker: FCC consumer complaints (opendata.fcc.gov, Socrata).

Registered through the same pluggy hook a third-party plugin uses.
"""

from __future__ import annotations

from collections.abc import Callable

from cidrep.hookspecs import hookimpl

from .checker import FccChecker, FccSettings

__all__ = ["FccChecker", "FccSettings", "register_checkers"]


@hookimpl
def register_checkers(register: Callable[[type], None]) -> None:
    register(FccChecker)

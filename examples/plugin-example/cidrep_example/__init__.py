"""``example``: a minimal third-party cidrep checker, written to be copied.

cidrep finds this module through the ``cidrep`` entry-point group that
``pyproject.toml`` declares, and calls its ``register_checkers`` hook: the same door
the built-in sources use. Like every plugin, it imports nothing from cidrep but
``cidrep.contract``, the public contract.
"""

from __future__ import annotations

from collections.abc import Callable

from cidrep.contract import hookimpl

from .checker import ExampleChecker
from .settings import ExampleSettings

__all__ = ["ExampleChecker", "ExampleSettings", "register_checkers"]


@hookimpl
def register_checkers(register: Callable[[type], None]) -> None:
    register(ExampleChecker)

"""The built-in ``ftc`` source: FTC Do Not Call complaint files, matched locally.

Registered through the same pluggy hook a third-party plugin uses. Importing this
module stays light (no httpx): the CLI imports every plugin to list sources.
"""

from __future__ import annotations

from collections.abc import Callable

from cidrep.contract import hookimpl
from cidrep_plugins.ftc.checker import FtcChecker, FtcSettings

__all__ = ["FtcChecker", "FtcSettings", "register_checkers"]


@hookimpl
def register_checkers(register: Callable[[type], None]) -> None:
    register(FtcChecker)

"""The plugin door: pluggy hooks a checker package implements.

A third-party package exposes a module under the ``cidrep`` entry-point group::

    [project.entry-points.cidrep]
    mysource = "cidrep_mysource"

and implements::

    from cidrep.hookspecs import hookimpl

    @hookimpl
    def register_checkers(register):
        register(MySourceChecker)
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("cidrep")
hookimpl = pluggy.HookimplMarker("cidrep")


@hookspec
def register_checkers(register: Callable[[type], None]) -> None:
    """Call ``register(CheckerClass)`` for each checker this plugin provides."""

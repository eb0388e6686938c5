"""The plugin door: pluggy hooks a checker package implements.

A third-party package exposes a module under the ``cidrep`` entry-point group::

    [project.entry-points.cidrep]
    mysource = "cidrep_mysource"

and implements::

    from cidrep.hookspecs import hookimpl

    @hookimpl
    def register_checkers(register):
        register(MySourceChecker)

    @hookimpl
    def register_channels(register):
        register(MyChannel)          # a cidrep.contract.Channel subclass
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("cidrep")
hookimpl = pluggy.HookimplMarker("cidrep")


@hookspec
def register_checkers(register: Callable[[type], None]) -> None:
    """Call ``register(CheckerClass)`` for each checker this plugin provides."""


@hookspec
def register_channels(register: Callable[[type], None]) -> None:
    """Call ``register(ChannelClass)`` for each alert-channel type this plugin provides."""

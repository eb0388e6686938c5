"""Loading checkers and alert channels: built-ins and third-party packages, one door.

Built-ins are listed in ``DEFAULT_PLUGINS`` and registered exactly like an
entry-point plugin (the llm/datasette pattern), so nothing is special about them.
``CIDREP_LOAD_PLUGINS`` (comma-separated module names, or empty for none) restricts
what loads; tests use it to stay isolated from whatever else is installed.
"""

from __future__ import annotations

import importlib
import os

import pluggy

from cidrep import hookspecs
from cidrep.channels import Channel
from cidrep.contract import Checker, FeedChecker, LookupChecker

ENTRY_POINT_GROUP = "cidrep"
DEFAULT_PLUGINS: tuple[str, ...] = (
    "cidrep_plugins.ftc",
    "cidrep_plugins.fcc",
    "cidrep_plugins.usacallerlookup",
    "cidrep_plugins.twilio",
    "cidrep_plugins.telnyx",
    "cidrep_plugins.ipqs",
    "cidrep_plugins.tellows",
    "cidrep_plugins.trustcall",
    "cidrep_plugins.slack",
    "cidrep_plugins.webhook",
    "cidrep_plugins.apprise",
)


class PluginError(Exception):
    pass


def make_manager(load_entry_points: bool = True) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("cidrep")
    pm.add_hookspecs(hookspecs)
    only = os.environ.get("CIDREP_LOAD_PLUGINS")
    allowed = None if only is None else {m.strip() for m in only.split(",") if m.strip()}
    for module_name in DEFAULT_PLUGINS:
        if allowed is None or module_name in allowed:
            pm.register(importlib.import_module(module_name), name=module_name)
    if load_entry_points:
        if allowed is None:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        else:
            for name in allowed - set(DEFAULT_PLUGINS):
                pm.register(importlib.import_module(name), name=name)
    return pm


def collect_checkers(pm: pluggy.PluginManager) -> dict[str, type[Checker]]:
    """Ask every plugin to register its checkers; names must be unique and valid."""
    found: dict[str, type[Checker]] = {}

    def register(cls: type) -> None:
        if not (isinstance(cls, type) and issubclass(cls, LookupChecker | FeedChecker)):
            raise PluginError(f"{cls!r} is not a LookupChecker or FeedChecker subclass")
        for attr in ("name", "description", "disclosure"):
            if not getattr(cls, attr, None):
                raise PluginError(f"checker {cls.__name__} does not declare {attr!r}")
        if not cls.name.isidentifier() or cls.name != cls.name.lower():
            raise PluginError(f"checker name {cls.name!r} must be a lowercase identifier")
        if cls.name in found and found[cls.name] is not cls:
            raise PluginError(f"two plugins register a checker named {cls.name!r}")
        found[cls.name] = cls

    pm.hook.register_checkers(register=register)
    return dict(sorted(found.items()))


def collect_channels(pm: pluggy.PluginManager) -> dict[str, type[Channel]]:
    """Ask every plugin to register its channel types; types must be unique and valid."""
    found: dict[str, type[Channel]] = {}

    def register(cls: type) -> None:
        if not (isinstance(cls, type) and issubclass(cls, Channel)):
            raise PluginError(f"{cls!r} is not a Channel subclass")
        for attr in ("type", "description", "disclosure"):
            if not getattr(cls, attr, None):
                raise PluginError(f"channel {cls.__name__} does not declare {attr!r}")
        if not cls.type.isidentifier() or cls.type != cls.type.lower():
            raise PluginError(f"channel type {cls.type!r} must be a lowercase identifier")
        declared = cls.settings_model.model_fields["type"].annotation
        if getattr(declared, "__args__", None) != (cls.type,):
            raise PluginError(
                f"channel {cls.__name__}: settings_model.type must be Literal[{cls.type!r}]"
            )
        if cls.type in found and found[cls.type] is not cls:
            raise PluginError(f"two plugins register a channel type named {cls.type!r}")
        found[cls.type] = cls

    pm.hook.register_channels(register=register)
    return dict(sorted(found.items()))


_cache: dict[str, type[Checker]] | None = None
_channel_cache: dict[str, type[Channel]] | None = None
_manager: pluggy.PluginManager | None = None


def _pm() -> pluggy.PluginManager:
    global _manager
    if _manager is None:
        _manager = make_manager()
    return _manager


def get_checkers() -> dict[str, type[Checker]]:
    """All registered checker classes by name (loaded once per process)."""
    global _cache
    if _cache is None:
        _cache = collect_checkers(_pm())
    return _cache


def get_channels() -> dict[str, type[Channel]]:
    """All registered channel types by ``type`` (loaded once per process)."""
    global _channel_cache
    if _channel_cache is None:
        _channel_cache = collect_channels(_pm())
    return _channel_cache


def reset_cache() -> None:
    global _cache, _channel_cache, _manager
    _cache = _channel_cache = _manager = None

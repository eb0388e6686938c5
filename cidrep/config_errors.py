"""Config errors as one line per problem, naming where the bad value came from.

Blame follows precedence (flags > environment > file): a key set in the environment
and in the file was validated with the environment's value, so the variable is the
one named. Values are never echoed (a credential could be among them).
"""

from __future__ import annotations

import json
import os
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError

from cidrep.contract import Checker

ENV_PREFIX = "CIDREP_"


def format_validation_error(
    exc: ValidationError,
    path: Path,
    data: dict[str, Any],
    checkers: dict[str, type[Checker]],
    flags: Mapping[str, Any] | None = None,
    channel_types: Mapping[str, Any] | None = None,
) -> str:
    """One line per problem: where it came from (flag, env var or file), the key, the reason.

    Blame follows precedence (flags > environment > file): a key set both in the
    environment and in the file is validated with the environment's value, so the
    environment variable is the one to name. No value of a credential is ever part
    of the line (pydantic's ``input`` is never shown).
    """
    lines = []
    types = sorted(channel_types or {})
    for err in exc.errors():
        loc = [str(part) for part in err["loc"]]
        reason = err["msg"].removeprefix("Value error, ")
        if not loc:  # a rule across keys names its key first: "retention_days (7) is ..."
            first = reason.split(" ", 1)[0]
            if first.isidentifier() and first.islower():
                loc = [first]
                reason = reason[len(first) :].lstrip()
        if loc[:1] == ["channels"] and len(loc) >= 2:
            if len(loc) > 2 and loc[2] in types:
                del loc[2]  # the union's tag: the section's own type, not a key
            if err["type"] in ("union_tag_not_found", "union_tag_invalid"):
                loc = [*loc[:2], "type"]
                reason = f"must be one of: {', '.join(types) or 'none loaded'}"
                if err["type"] == "union_tag_not_found" and not lookup(data, loc):
                    reason = f"missing (one of: {', '.join(types) or 'none loaded'})"
            elif err["type"] == "string_pattern_mismatch" and len(loc) == 3:
                loc, reason = loc[:2], "channel names are lowercase letters, digits, - and _"
        key = ".".join(loc)
        origin = _origin(loc, path, data, flags or {})
        if err["type"] == "missing" and len(loc) > 1 and lookup(data, loc[:-1]):
            origin, reason = f"config file {path}", "missing (required)"
        if err["type"] == "extra_forbidden":
            if len(loc) == 2 and loc[0] == "sources":
                known = ", ".join(checkers) or "none"
                reason = f"unknown source {loc[1]!r} (known: {known})"
            else:
                reason = "unknown key"
        lines.append(f"{origin}: {key}: {reason}" if key else f"{origin}: {reason}")
    return "\n".join(lines)


def format_settings_error(exc: SettingsError, settings_cls: type[BaseModel]) -> str:
    """pydantic-settings' own failure: a section or list in the environment is not JSON.

    Its message names only the top-level field and its cause may quote the value, so
    neither is shown: the line names the variable(s) at fault and how to set keys.
    """
    bad = [(n, p) for n, p in _env_vars() if _complex_at(settings_cls, p) and not _is_json(n)]
    hint = (
        "a section or list set from the environment must be JSON; or set one key at a "
        f"time, e.g. {ENV_PREFIX}SOURCES__FCC__ENABLED=false"
    )
    if not bad:
        return f"environment: cannot read {ENV_PREFIX}* settings ({hint})"
    keys = ", ".join(".".join(parts) for _, parts in bad)
    return f"{_variables([n for n, _ in bad])}: {keys}: not valid JSON ({hint})"


def _variables(names: list[str]) -> str:
    return "environment variable" + ("s " if len(names) > 1 else " ") + ", ".join(names)


def _origin(loc: list[str], path: Path, data: dict[str, Any], flags: Mapping[str, Any]) -> str:
    if loc and loc[0] in flags:
        return f"option --{loc[0].replace('_', '-')}"
    env = _env_culprit(loc)
    if env:
        return f"environment variable {env}"
    if lookup(data, loc):
        return f"config file {path}"
    children = _env_children(loc)
    if children:
        return _variables(children)
    return f"environment variable {ENV_PREFIX}{'__'.join(loc).upper()}"


def _env_vars() -> Iterator[tuple[str, list[str]]]:
    """Every ``CIDREP_*`` variable set, with its key path (lower case, ``__`` split)."""
    for name in sorted(os.environ):
        if name.upper().startswith(ENV_PREFIX) and len(name) > len(ENV_PREFIX):
            yield name, name[len(ENV_PREFIX) :].lower().split("__")


def _env_culprit(loc: list[str]) -> str | None:
    """The set variable holding the value at ``loc``: itself, or a JSON prefix holding it."""
    wanted = [part.lower() for part in loc]
    for name, parts in _env_vars():
        if parts == wanted:
            return name
    for name, parts in _env_vars():
        if len(parts) < len(wanted) and wanted[: len(parts)] == parts:
            try:
                value = json.loads(os.environ[name])
            except ValueError:
                continue
            if isinstance(value, dict) and lookup(value, wanted[len(parts) :]):
                return name
    return None


def _env_children(loc: list[str]) -> list[str]:
    low = [part.lower() for part in loc]
    return [n for n, p in _env_vars() if len(p) > len(low) and p[: len(low)] == low]


def _is_json(name: str) -> bool:
    try:
        json.loads(os.environ[name])
    except ValueError:
        return False
    return True


def _complex_at(model: type[BaseModel], loc: list[str]) -> bool:
    """True when ``loc`` names a section or list (pydantic-settings wants JSON there)."""
    annotation: Any = model
    for part in loc:
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return False
        info = next((f for n, f in annotation.model_fields.items() if n.lower() == part), None)
        if info is None:
            return False
        annotation = info.annotation
    return is_complex(annotation)


def is_complex(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    origin = get_origin(annotation)
    if origin in (list, dict, set, tuple, frozenset):
        return True
    if origin in (Union, types.UnionType):
        return any(is_complex(a) for a in get_args(annotation) if a is not type(None))
    return False


def lookup(data: dict[str, Any], loc: list[str]) -> bool:
    node: Any = data
    for part in loc:
        if not isinstance(node, dict):
            return False
        match = next((k for k in node if k.lower() == part.lower()), None)
        if match is None:
            return False
        node = node[match]
    return True

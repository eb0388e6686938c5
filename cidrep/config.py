"""Configuration: a TOML file, ``CIDREP_*`` environment variables, and CLI flags.

Precedence is flags > environment > file > defaults. Nested keys use ``__`` in the
environment (``CIDREP_SOURCES__FCC__BASE_URL``). The settings model is assembled at
load time from the registered checkers' ``settings_model``s, so one validation pass
checks every ``[sources.<name>]`` section and reports the exact key that is wrong.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from cidrep.channels import Channel, ChannelSettings
from cidrep.config_errors import (
    ENV_PREFIX,
    format_settings_error,
    format_validation_error,
    is_complex,
    lookup,
)
from cidrep.contract import Checker, SourceSettings
from cidrep.disputes import DEFAULT_CARRIERS, DEFAULT_ENGINES, CarrierMap
from cidrep.errors import ConfigError


def default_config_path() -> Path:
    import platformdirs

    return platformdirs.user_config_path("cidrep") / "config.toml"


def default_db_path() -> Path:
    import platformdirs

    return platformdirs.user_data_path("cidrep") / "cidrep.db"


class ReportsSettings(BaseModel):
    """``[reports]``: how ``cidrep report`` counts the lifecycle figures."""

    model_config = ConfigDict(extra="forbid")

    relapse_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="a label starting within this many days of the previous clear is a relapse",
    )


class BaseConfig(BaseSettings):
    """Top-level options. ``sources`` is added per load from the plugins."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    db: Path | None = None
    account: str = "default"
    default_region: str = "US"
    retention_days: int = Field(
        default=400,
        ge=1,
        le=36500,
        description="days history, sightings, flips, deliveries and runs are kept",
    )

    carriers: dict[str, str] = Field(
        default_factory=dict,
        description="carrier -> the analytics engine behind its labels (added to defaults)",
    )
    engines: dict[str, str] = Field(
        default_factory=dict,
        description="analytics engine -> its review (dispute) portal (added to defaults)",
    )

    reports: ReportsSettings = Field(default_factory=ReportsSettings)

    @field_validator("db", mode="before")
    @classmethod
    def _db_not_empty(cls, value: object) -> object:
        # Path("") is Path("."), the current directory: never the database a user meant.
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        import phonenumbers

        code = value.strip().upper()
        if code not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region code {value!r} (use ISO codes such as US, CA, GB)")
        return code

    @field_validator("account")
    @classmethod
    def _account(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("account name must not be empty")
        return value

    @model_validator(mode="after")
    def _retention_covers_windows(self) -> BaseConfig:
        """Retention may not be shorter than a window a verdict counts over: pruning
        inside the window would turn a flagged number clean."""
        sources = getattr(self, "sources", None)
        for name in type(sources).model_fields if sources is not None else ():
            source = getattr(sources, name)
            if source.enabled and source.history_days() > self.retention_days:
                raise ValueError(
                    f"retention_days must be at least the {source.history_days()}-day window "
                    f"[sources.{name}] counts over (it is {self.retention_days}): its records "
                    "would be deleted before they count"
                )
        return self

    @model_validator(mode="after")
    def _carrier_map(self) -> BaseConfig:
        """A carrier naming an engine without a portal is a config error."""
        try:
            self.carrier_map()
        except ValidationError as exc:
            first = exc.errors()[0]
            key = str(first["loc"][0]) if first["loc"] else "carriers"
            raise ValueError(f"{key} {first['msg'].removeprefix('Value error, ')}") from None
        return self

    def carrier_map(self) -> CarrierMap:
        """The carrier and engine map: defaults, then what the config adds."""
        return CarrierMap(
            carriers={**DEFAULT_CARRIERS, **self.carriers},
            engines={**DEFAULT_ENGINES, **self.engines},
        )

    @property
    def db_path(self) -> Path:
        return self.db if self.db is not None else default_db_path()

    def source(self, name: str) -> SourceSettings:
        return getattr(self.sources, name)  # type: ignore[attr-defined]


class _DictSource(PydanticBaseSettingsSource):
    """Feeds the already-parsed TOML into pydantic-settings at file precedence."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data


class _EnvSource(EnvSettingsSource):
    """The environment, where only sections and lists have to be JSON.

    pydantic-settings also wants JSON for a dataclass-typed value such as a rate, so
    ``CIDREP_SOURCES__FTC__RATE_LIMIT=5/s`` would fail to load; a value that is not
    JSON is passed on as text instead, for the field's own validator to parse.
    """

    def decode_complex_value(self, field_name: str, field: Any, value: Any) -> Any:
        try:
            return super().decode_complex_value(field_name, field, value)
        except ValueError:
            if field is not None and is_complex(getattr(field, "annotation", None)):
                raise
            return value


@dataclass
class LoadedConfig:
    settings: BaseConfig
    path: Path
    file_exists: bool
    warnings: list[str] = field(default_factory=list)


def resolve_config_path(flag: Path | None) -> tuple[Path, bool]:
    """Return (path, explicit): flag > CIDREP_CONFIG > the user config dir."""
    if flag is not None:
        return flag, True
    env = os.environ.get(f"{ENV_PREFIX}CONFIG")
    if env:
        return Path(env), True
    return default_config_path(), False


def read_toml(path: Path, explicit: bool) -> tuple[dict[str, Any], bool]:
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file {path} does not exist")
        return {}, False
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(raw.decode("utf-8")), True
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def build_settings_class(
    checkers: dict[str, type[Checker]], channel_types: dict[str, type[Channel]] | None = None
) -> type[BaseConfig]:
    """The settings model for this set of plugins: ``sources`` from the checkers,
    ``channels`` from the channel types, ``alerts`` from ``cidrep.alerts.settings``."""
    from cidrep.alerts.settings import AlertsSettings, channels_field

    fields: dict[str, Any] = {
        name: (cls.settings_model, cls.settings_model()) for name, cls in checkers.items()
    }
    sources_model = create_model(  # type: ignore[call-overload]
        "Sources", __config__=ConfigDict(extra="forbid"), **fields
    )
    return create_model(  # type: ignore[call-overload]
        "Settings",
        __base__=BaseConfig,
        sources=(sources_model, sources_model()),
        alerts=(AlertsSettings, AlertsSettings()),
        channels=(channels_field(channel_types or {}), {}),
    )


def load_config(
    config_flag: Path | None,
    checkers: dict[str, type[Checker]],
    overrides: dict[str, Any] | None = None,
    channel_types: dict[str, type[Channel]] | None = None,
) -> LoadedConfig:
    """Load and validate everything, or raise ``ConfigError`` naming file and key.

    ``channel_types`` defaults to the channel types the plugins register.
    """
    path, explicit = resolve_config_path(config_flag)
    data, exists = read_toml(path, explicit)
    if channel_types is None:
        from cidrep.plugins import get_channels

        channel_types = get_channels()
    base = build_settings_class(checkers, channel_types)

    class settings_cls(base):  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: Any,
            init_settings: Any,
            env_settings: Any,
            dotenv_settings: Any,
            file_secret_settings: Any,
        ) -> tuple:
            return (init_settings, _EnvSource(settings_cls), _DictSource(settings_cls, data))

    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    try:
        settings = settings_cls(**flags)
    except ValidationError as exc:
        raise ConfigError(
            format_validation_error(exc, path, data, checkers, flags, channel_types)
        ) from None
    except SettingsError as exc:
        raise ConfigError(format_settings_error(exc, settings_cls)) from None
    from cidrep.redaction import register

    register(secret_values(settings))
    loaded = LoadedConfig(settings=settings, path=path, file_exists=exists)
    if exists:
        loaded.warnings.extend(permission_warnings(path, data, settings_cls, settings))
    return loaded


def secret_values(model: BaseModel) -> list[str]:
    """Every non-empty ``SecretStr`` value anywhere in the loaded settings.

    Registered with ``cidrep.redaction`` after each successful load, so log records
    and error lines are redacted process-wide without each caller knowing the keys.
    """
    from pydantic import SecretStr

    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name, None)
        values = list(value.values()) if isinstance(value, dict) else [value]
        for item in values:
            if isinstance(item, ChannelSettings):
                found.extend(item.secrets())  # with the secret parts of channel URLs
            elif isinstance(item, SecretStr):
                if item.get_secret_value():
                    found.append(item.get_secret_value())
            elif isinstance(item, BaseModel):
                found.extend(secret_values(item))
    return found


def _secret_fields(settings_cls: type[BaseModel]) -> set[tuple[str, ...]]:
    from pydantic import SecretStr

    found: set[tuple[str, ...]] = set()

    def walk(model: type[BaseModel], prefix: tuple[str, ...]) -> None:
        for name, info in model.model_fields.items():
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, (*prefix, name))
            elif "SecretStr" in str(ann) or ann is SecretStr:
                found.add((*prefix, name))

    walk(settings_cls, ())
    return found


def permission_warnings(
    path: Path, data: dict[str, Any], settings_cls: type[BaseModel], settings: BaseConfig
) -> list[str]:
    """Warn when a config file holding secrets is readable by group or others.

    Secrets are the ``SecretStr`` keys of the settings model, and of each configured
    channel's own model (its type decides which keys are secret).
    """
    if os.name != "posix":
        return []
    try:
        mode = path.stat().st_mode
    except OSError:
        return []
    if not mode & (stat.S_IRGRP | stat.S_IROTH):
        return []
    present = sorted(
        ".".join(loc) for loc in _secret_fields(settings_cls) if lookup(data, list(loc))
    )
    from cidrep.alerts.settings import channel_settings

    for name, channel in sorted(channel_settings(settings).items()):
        present += sorted(
            f"channels.{name}.{key}"
            for (key,) in _secret_fields(type(channel))
            if lookup(data, ["channels", name, key])
        )
    if not present:
        return []
    return [
        f"warning: config file {path} holds secrets ({', '.join(present)}) and is readable by "
        f"group or others; run: chmod 600 {path}"
    ]

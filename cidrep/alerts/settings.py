"""The ``[alerts]`` section and the ``[channels.<name>]`` sections of the config.

``[alerts]`` holds the defaults of the alert rules (``cidrep.alerts.rules``);
``confirm_after`` and ``recover_after`` can be overridden per source in
``[sources.<name>]``. Each ``[channels.<name>]`` section is validated by the settings
model of its ``type``, whichever plugin registered it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag

from cidrep.channels import Channel, ChannelSettings
from cidrep.sourcesettings import Duration

ChannelName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]


class AlertsSettings(BaseModel):
    """When a change is worth a message (the rules' parameters)."""

    model_config = ConfigDict(extra="forbid")

    confirm_after: int = Field(
        default=2, ge=1, le=100, description="flagged checks in a row before a source counts"
    )
    recover_after: int = Field(
        default=2, ge=1, le=100, description="clean checks in a row before it counts as cleared"
    )
    failing_after: int = Field(
        default=3, ge=1, le=100, description="failed checks in a row before 'source failing'"
    )
    quorum: int = Field(default=1, ge=1, le=50, description="sources that must agree to alert")
    flap_max: int = Field(default=3, ge=1, le=100, description="flips allowed within flap_window")
    flap_window: Duration = Field(default=timedelta(hours=24))
    renotify_after: Duration | None = Field(
        default=None, description="remind while a number stays flagged; unset: never"
    )
    expire_after: Duration = Field(
        default=timedelta(days=3), description="give up delivering a message this old"
    )
    retry_initial: Duration = Field(
        default=timedelta(minutes=5), description="first wait before re-sending; doubles"
    )
    retry_max: Duration = Field(default=timedelta(hours=6), description="longest re-send wait")


class _NoSuchType(BaseModel):
    """Never selected: keeps the union a union when only one channel type is loaded."""

    type: Literal["__never__"]


def channels_field(types: dict[str, type[Channel]]) -> Any:
    """The annotation of ``channels``: name -> the settings model of its ``type``."""

    def pick(value: Any) -> str | None:
        kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
        return kind if kind in types else None

    members = [Annotated[cls.settings_model, Tag(name)] for name, cls in types.items()]
    members.append(Annotated[_NoSuchType, Tag("__never__")])
    union = Union[tuple(members)]  # noqa: UP007 (built from a runtime list)
    return dict[ChannelName, Annotated[union, Discriminator(pick)]]


def channel_settings(settings: Any) -> dict[str, ChannelSettings]:
    """The configured channels by name (enabled or not)."""
    return dict(getattr(settings, "channels", {}) or {})

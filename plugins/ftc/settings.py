"""``[sources.ftc]`` settings: where complaints come from, how far back to read.

Checked when the config is loaded, so a setting that would make the feed quietly
wrong (a flag window longer than what is ever read, API mode without a key, a key
sent over plain HTTP) is a config error up front.

``mode`` picks where complaints come from: ``"csv"`` (the default) reads the daily
complaint files, ``"api"`` pages through the FTC DNC Reported Calls API with an
api.data.gov key. In API mode ``base_url`` is the API root and defaults to
``FTC_API_URL``: the runner's HTTP session sends a credential only to base_url's
origin, so the key can only ever reach that host.
"""

from __future__ import annotations

import ipaddress
import string
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ByteSize, Field, SecretStr, field_validator, model_validator

from cidrep.contract import MB, ComplaintRuleSettings, Duration, Rate, RateLimit

FTC_BASE_URL = "https://www.ftc.gov/sites/default/files/"
DEFAULT_PATTERN = "DNC_Complaint_Numbers_{date}.csv"
FTC_API_URL = "https://api.ftc.gov/v0/"  # the API root in mode = "api"
API_SIGNUP = "https://api.data.gov/signup"
# A 90-day single-file mirror is ~220 MB; a daily file is well under 1 MB.
DEFAULT_MAX_FILE = 500 * MB


class FtcSettings(ComplaintRuleSettings):
    """``[sources.ftc]``: where complaints come from and how far back to read."""

    mode: Literal["csv", "api"] = Field(
        default="csv",
        description=(
            'where complaints come from: "csv", the FTC\'s daily complaint files (or path); '
            '"api", the FTC DNC Reported Calls API at api.ftc.gov (needs api_key)'
        ),
    )
    api_key: SecretStr | None = Field(
        default=None,
        description=(
            f'api.data.gov key for mode = "api" (free at {API_SIGNUP}; "DEMO_KEY" to try '
            "it); sent as X-Api-Key to base_url's host only, never stored or logged"
        ),
    )
    base_url: str = Field(
        default=FTC_BASE_URL,
        description=(
            "csv mode: folder URL the daily files are downloaded from (ignored when path "
            f"is set); api mode: the API root, default {FTC_API_URL}"
        ),
    )
    path: Path | None = Field(
        default=None,
        description=(
            "csv mode: a local FTC CSV file, or a folder of daily files (an offline "
            "mirror); when set, nothing is downloaded"
        ),
    )
    file_pattern: str = Field(
        default=DEFAULT_PATTERN,
        description=(
            "daily file name with {date} for YYYY-MM-DD; in a folder it matches "
            "case-insensitively, so the older lowercase names are found too"
        ),
    )
    lookback_days: int = Field(
        default=30,
        ge=1,
        le=3660,
        description="days of files a first run (or a newly added number) reads",
    )
    interval: Duration = Field(
        default=timedelta(hours=6),
        description="how often to look for new files (published weekdays around noon ET)",
    )
    rate_limit: RateLimit = Field(default=Rate(1, 1), description="downloads per second/minute")
    concurrency: int = Field(
        default=1, ge=1, le=64, description="parallel downloads (files are read in order)"
    )
    max_response_bytes: ByteSize = Field(
        default=ByteSize(DEFAULT_MAX_FILE),
        gt=0,
        description=(
            'largest file read, downloaded or local, e.g. "500MB" (a 90-day single-file '
            "mirror is ~220 MB); more is a source error"
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _api_root_by_default(cls, data: Any) -> Any:
        """In API mode an unset ``base_url`` is the API root, not the files folder."""
        if isinstance(data, dict) and "base_url" not in data:
            mode = data.get("mode")
            if isinstance(mode, str) and mode.strip().lower() == "api":
                return {**data, "base_url": FTC_API_URL}
        return data

    @field_validator("mode", mode="before")
    @classmethod
    def _mode_name(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _api_mode_is_usable(self) -> FtcSettings:
        """API mode needs a key, a base_url, and must not send the key in clear."""
        if self.mode != "api":
            return self
        if self.api_key is None or not self.api_key.get_secret_value():
            raise ValueError(
                f'mode = "api" needs api_key: a free api.data.gov key ({API_SIGNUP}), '
                'or "DEMO_KEY" to try it'
            )
        if not self.base_url:
            raise ValueError(f'mode = "api" needs base_url (the API root, {FTC_API_URL})')
        parts = urlsplit(self.base_url)
        if parts.scheme != "https" and not _loopback(parts.hostname or ""):
            raise ValueError(
                'mode = "api" sends api_key to base_url, so it must be https:// '
                "(plain http only to a loopback address, for tests)"
            )
        return self

    @field_validator("base_url")
    @classmethod
    def _folder_url(cls, value: str) -> str:
        value = value.strip()
        return value if not value or value.endswith("/") else value + "/"

    @field_validator("path")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("file_pattern")
    @classmethod
    def _one_date_field(cls, value: str) -> str:
        try:
            parsed = list(string.Formatter().parse(value))
        except ValueError as exc:
            raise ValueError(f"invalid file_pattern {value!r}: {exc}") from None
        fields = [(name, spec, conv) for _, name, spec, conv in parsed if name is not None]
        if fields != [("date", "", None)]:
            raise ValueError(
                f"file_pattern {value!r} must contain {{date}} exactly once and no other "
                "{...} field, e.g. 'DNC_Complaint_Numbers_{date}.csv'"
            )
        if "/" in value or "\\" in value:
            raise ValueError("file_pattern is a file name; put folders in base_url or path instead")
        return value


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

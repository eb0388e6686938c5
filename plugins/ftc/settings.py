"""``[sources.ftc]`` settings: where the daily files come from, how far back to read.

Checked when the config is loaded, so a setting that would make the feed quietly
wrong (a flag window longer than what is ever read) is a config error up front.
"""

from __future__ import annotations

import string
from datetime import timedelta
from pathlib import Path

from pydantic import ByteSize, Field, field_validator

from cidrep.contract import MB, ComplaintRuleSettings, Duration, Rate, RateLimit

FTC_BASE_URL = "https://www.ftc.gov/sites/default/files/"
DEFAULT_PATTERN = "DNC_Complaint_Numbers_{date}.csv"
# A 90-day single-file mirror is ~220 MB; a daily file is well under 1 MB.
DEFAULT_MAX_FILE = 500 * MB


class FtcSettings(ComplaintRuleSettings):
    """``[sources.ftc]``: where the daily files come from and how far back to read."""

    base_url: str = Field(
        default=FTC_BASE_URL,
        description="folder URL the daily files are downloaded from (ignored when path is set)",
    )
    path: Path | None = Field(
        default=None,
        description=(
            "a local FTC CSV file, or a folder of daily files (an offline mirror); "
            "when set, nothing is downloaded"
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

"""``[sources.fcc]`` settings: where the dataset lives, how much to ask for, the flag rule."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, SecretStr, field_validator

from cidrep.contract import ComplaintRuleSettings, Duration, Rate, RateLimit

from . import socrata


class FccSettings(ComplaintRuleSettings):
    """``[sources.fcc]``: where the dataset lives, how much to ask for, the flag rule."""

    base_url: str = Field(
        default="https://opendata.fcc.gov", description="Socrata host serving the FCC data"
    )
    dataset: str = Field(
        default="3xyp-aqkj",
        description="Socrata dataset id (4x4) of CGB Consumer Complaints Data",
    )
    app_token: SecretStr | None = Field(
        default=None,
        description="optional Socrata app token, sent as X-App-Token (fewer throttles)",
    )
    batch_size: int = Field(default=50, ge=1, le=100, description="numbers per query")
    lookback_days: int = Field(
        default=365, ge=1, le=36500, description="only complaints with issue_date this recent"
    )
    page_size: int = Field(
        default=1000,
        ge=1,
        le=50000,
        description="complaint groups (counts per number, subject and day) per page ($limit)",
    )
    max_pages: int = Field(
        default=10,
        ge=1,
        le=1000,
        description=(
            "pages per query; a batch needing more is split in halves, and only a single "
            "number needing more is an error"
        ),
    )
    rate_limit: RateLimit = Field(default=Rate(2, 1), description="requests per second/minute")
    concurrency: int = Field(default=2, ge=1, le=64, description="requests in flight at once")
    interval: Duration = Field(default=timedelta(hours=24), description="how often a number is due")
    flag_min_complaints: int = Field(
        default=1, ge=1, description="complaints within the flag window that flag a number"
    )
    flag_window_days: int = Field(
        default=90, ge=1, description="flag window in days (FCC data lags by weeks)"
    )

    @field_validator("dataset", mode="before")
    @classmethod
    def _dataset_id(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        text = value.strip().lower()
        if not socrata.DATASET_ID.fullmatch(text):
            raise ValueError(f"{value!r} is not a Socrata dataset id such as '3xyp-aqkj'")
        return text

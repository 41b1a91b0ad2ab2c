"""Per-experiment aggregates: what the collector serves and the A/B statistics consume.

``GET /v1/experiments/{namespace}/{name}/summary`` returns an ``ExperimentSummary``; the
operator's timer and ``leadscore experiment report --summary`` read the same shape.
Value sums (and sums of squares) let Welch's test run on aggregates, without raw rows.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class ArmSummary(BaseModel):
    """One arm's exposures and outcomes so far."""

    model_config = ConfigDict(extra="ignore")

    model_version: str = Field("", description="Model version (or 'rules') that served this arm.")
    exposures: int = Field(0, ge=0, description="Distinct leads scored by this arm.")
    conversions: int = Field(0, ge=0, description="Of those, leads with a converted outcome.")
    value_sum: float = Field(0.0, description="Sum of outcome values (e.g. revenue) over exposures.")
    value_sum_sq: float = Field(0.0, ge=0, description="Sum of squared outcome values.")


class DailyArmCount(BaseModel):
    """Exposures and conversions of one arm on one day (for the report's time series)."""

    day: date
    arm: str
    exposures: int = Field(0, ge=0)
    conversions: int = Field(0, ge=0)


class ExperimentSummary(BaseModel):
    """Everything the statistics need about one experiment, at one moment."""

    model_config = ConfigDict(extra="ignore")

    namespace: str
    experiment: str
    arms: dict[str, ArmSummary] = Field(description="Keyed by arm name: 'control' and 'treatment'.")
    daily: list[DailyArmCount] = Field(default_factory=list)
    generated_at: datetime | None = None

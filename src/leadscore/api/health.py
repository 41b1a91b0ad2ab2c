"""Model health contracts: the drift report the CLI prints and the collector serves.

``leadscore monitor drift --json`` prints a ``DriftReport``; the collector's
``GET /v1/models/{namespace}/{service}/drift`` returns a ``DriftWindow`` (the same report plus
the window it covers), which the operator reads. Thresholds and their meaning:
``leadscore.monitoring.drift`` and docs/monitoring.md.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MATURITY = "14d"
"""How long a scored lead is given to convert before it counts in live accuracy (docs/monitoring.md)."""


class FieldDrift(BaseModel):
    """How far one raw input field has moved from the training reference."""

    model_config = ConfigDict(extra="forbid")

    name: str
    psi: float = Field(ge=0, description="Population stability index against the reference bins.")
    p_value: float = Field(ge=0, le=1, description="KS (numbers) or chi-square (levels, flags) test p-value.")
    drifted: bool = Field(description="psi at or above the drift threshold and p_value below alpha.")
    out_of_range: float | None = Field(
        None, ge=0, le=1,
        description="Numbers: share of the leads whose value lies outside the training range, which the "
                    "model saw clipped to it (drift itself is measured on the raw values).")


class DriftReport(BaseModel):
    """Every profiled field, the score's PSI, and the names of the drifted fields."""

    model_config = ConfigDict(extra="forbid")

    fields: list[FieldDrift]
    score_psi: float = Field(ge=0, description="PSI of the model's probabilities against the held-out ones.")
    drifted: list[str] = Field(description="Names of the fields flagged as drifted, in field order.")


class DriftWindow(DriftReport):
    """A ``DriftReport`` over the predictions one service's version made in a time window."""

    namespace: str
    service: str
    model_version: str
    since: datetime
    until: datetime
    rows: int = Field(ge=0, description="Predictions compared (each a lead as the model saw it).")


class Interval(BaseModel):
    """A figure and its 95 % interval (bootstrap or Wilson, as the field says)."""

    value: float
    lower: float
    upper: float


class CalibrationBin(BaseModel):
    """One decile of the predicted probability: what was promised against what happened."""

    decile: int = Field(ge=1, le=10)
    leads: int = Field(ge=0)
    mean_probability: float
    conversion_rate: float


class TierConversion(BaseModel):
    """How the leads of one tier converted (Wilson 95 % interval on the rate)."""

    tier: str
    leads: int = Field(ge=0)
    conversions: int = Field(ge=0)
    rate: float
    lower: float
    upper: float


class TimeToConversion(BaseModel):
    """Days from a lead's first score to its first conversion, over the converted leads."""

    median_days: float
    p25_days: float
    p75_days: float


class LivePerformance(BaseModel):
    """How one version's scores held up against the outcomes that followed them.

    Only mature leads count: first scored in ``[since, until)`` with ``until`` at most
    ``maturity_days`` before ``evaluated_at``, and converted when a converted outcome occurred
    within ``maturity_days`` of that first score. Figures that need both outcomes (AUC, lift)
    are null until both occurred.
    """

    namespace: str
    service: str
    model_version: str
    since: datetime
    until: datetime
    maturity_days: float
    evaluated_at: datetime
    leads: int = Field(ge=0)
    conversions: int = Field(ge=0)
    conversion_rate: float
    roc_auc: Interval | None = Field(None, description="Bootstrap 95 % interval.")
    brier: Interval | None = Field(None, description="Bootstrap 95 % interval.")
    calibration: list[CalibrationBin] = Field(default_factory=list)
    tiers: list[TierConversion] = Field(default_factory=list)
    top_tier_lift: Interval | None = Field(None, description="Top tier's rate / every lead's rate (bootstrap).")
    revenue_per_lead: Interval | None = Field(None, description="Outcome value per lead (normal interval).")
    time_to_conversion: TimeToConversion | None = None

"""Per-experiment aggregates: what the collector serves and the A/B statistics consume.

``GET /v1/experiments/{namespace}/{name}/summary`` returns an ``ExperimentSummary``; the
operator's timer and ``leadscore experiment report --summary`` read the same shape.
Value sums (and sums of squares) let Welch's test run on aggregates, without raw rows.
With the query parameters of a ``ServingSplit`` the collector counts a random (KServe
canary) split by inference service and model version instead of by experiment tags.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict, Field, computed_field

from leadscore.api.wire import CONTROL, TREATMENT


class CovariateSums(BaseModel):
    """Sums of the pre-treatment covariate x (the control model's score) over exposures that carry one.

    Regression adjustment (CUPED/CUPAC) needs only these aggregates: n, Σx, Σx² and Σx·y with y the
    lead's conversion (0/1). ``covariate_count`` below the exposures means some leads lack a score.
    """

    model_config = ConfigDict(extra="ignore")

    covariate_count: int = Field(0, ge=0, description="Exposures with a covariate.")
    covariate_sum: float = Field(0.0, description="Σx over those exposures.")
    covariate_sum_sq: float = Field(0.0, ge=0, description="Σx².")
    covariate_conversion_sum: float = Field(0.0, description="Σx over those of them that converted (Σx·y).")


class ArmSummary(CovariateSums):
    """One arm's exposures and outcomes so far."""

    model_config = ConfigDict(extra="ignore")

    model_version: str = Field("", description="Model version (or 'rules') that served this arm.")
    exposures: int = Field(0, ge=0, description="Distinct leads scored by this arm.")
    conversions: int = Field(0, ge=0, description="Of those, leads with a converted outcome.")
    value_sum: float = Field(0.0, description="Sum of outcome values (e.g. revenue) over exposures.")
    value_sum_sq: float = Field(0.0, ge=0, description="Sum of squared outcome values.")
    score_count: int = Field(0, ge=0, description="Exposures whose prediction carried a score.")
    score_sum: float = Field(0.0, description="Sum of those scores (each lead's first exposure).")
    conversion_time_count: int = Field(0, ge=0, description="Converted leads whose time to conversion is known.")
    conversion_seconds_sum: float = Field(0.0, ge=0, description="Sum over those leads of the seconds from their "
                                                                 "first exposure to their first conversion.")

    acceptance_reports: int = Field(0, ge=0, description="Exposures with a lead-acceptance report from sales.")
    accepted: int = Field(0, ge=0, description="Of those, leads whose most recent report says accepted.")

    def mean_score(self) -> float | None:
        """Average score the arm gave its leads; None without scores."""
        return self.score_sum / self.score_count if self.score_count else None

    def mean_hours_to_conversion(self) -> float | None:
        """Average time from exposure to conversion, over the leads that converted; None without any."""
        return self.conversion_seconds_sum / self.conversion_time_count / 3600 if self.conversion_time_count else None

    def acceptance_rate(self) -> float | None:
        """Share of the leads with an acceptance report that sales accepted; None without reports."""
        return self.accepted / self.acceptance_reports if self.acceptance_reports else None


class DailyArmCount(CovariateSums):
    """Exposures and conversions of one arm on one day (for the report's time series and the looks)."""

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


class ServingSplit(BaseModel):
    """A random split done by KServe's canary: count every prediction the inference service
    made since the split started, each in the arm of the model version that answered it.

    The experiment tags cannot be used for it: the control is the revision that was serving
    before the experiment, whose pods (and their logger) predate the experiment annotation and
    name no arm. The two versions differ, so the version says the arm for certain.
    """

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=253, description="InferenceService name.")
    control_version: str = Field(min_length=1, max_length=128)
    treatment_version: str = Field(min_length=1, max_length=128)
    since: datetime = Field(description="When the split started (timezone-aware; naive is read as UTC).")

    def arms(self) -> dict[str, str]:
        """model version -> arm."""
        return {self.control_version: CONTROL, self.treatment_version: TREATMENT}

    def to_params(self) -> dict[str, str]:
        """The summary request's query parameters."""
        since = self.since if self.since.tzinfo else self.since.replace(tzinfo=UTC)
        return {"service": self.service, "control_version": self.control_version,
                "treatment_version": self.treatment_version, "since": since.isoformat()}


class TierCount(BaseModel):
    """Leads one inference service put in one tier, how many of them converted since, and how
    fast sales reached them (outcomes' ``first_contacted_at``) against the tier's SLA."""

    tier: str = Field(description="Tier the predictor assigned ('' when the response named none).")
    leads: int = Field(0, ge=0, description="Distinct leads scored into this tier.")
    conversions: int = Field(0, ge=0, description="Of those, leads with a converted outcome at or after the score.")
    sla_seconds: float | None = Field(None, ge=0, description="The tier's contact deadline in its most recent "
                                                              "response; None: the tier has none.")
    contacted: int = Field(0, ge=0, description="Leads with a first contact at or after their score in the tier.")
    sla_due: int = Field(0, ge=0, description="Leads with a deadline that were contacted in time or whose "
                                              "deadline has passed (the SLA share's denominator).")
    sla_met: int = Field(0, ge=0, description="Leads first contacted within their deadline.")
    median_hours_to_first_contact: float | None = Field(
        None, ge=0, description="Median hours from the score to the first contact over contacted leads.")

    @computed_field(description="sla_met / sla_due; None while no lead is due.")  # type: ignore[prop-decorator]
    @property
    def sla_met_share(self) -> float | None:
        """Share of the due leads contacted within the SLA; None while none is due."""
        return self.sla_met / self.sla_due if self.sla_due else None


class TierSummary(BaseModel):
    """``GET /v1/models/{namespace}/{service}/tiers``: how a model's tiers fill and convert."""

    namespace: str
    service: str
    since: datetime
    tiers: list[TierCount] = Field(description="One entry per tier seen, most leads first.")

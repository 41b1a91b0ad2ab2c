"""``LeadScoringModel``: what to train, how to gate it, how to serve it (docs/operator.md).

These models are the single source of truth: ``leadscore.api.crd`` turns them into the CRD
schema and the operator parses CR bodies with them, so a field documented here is what
``kubectl explain lsm.spec`` shows.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, JsonValue, field_validator, model_validator

from leadscore.api.abexperiment import DURATION_PATTERN, ServingClaim
from leadscore.api.base import ApiModel
from leadscore.api.common import VERSION_PATTERN, Resources, Toleration
from leadscore.api.conditions import Condition
from leadscore.api.feedback import TargetsSpec
from leadscore.api.hyperparameters import PARAMS_RULES, Params, check_params

Vertical = Literal["pc", "health", "commercial", "generic"]
Algorithm = Literal["lr", "xgboost", "lightgbm", "catboost", "randomforest", "mlp"]
DataFormat = Literal["csv", "parquet"]
"""A lead table's file format (``leadscore.data.load_dataset``, ``--format``)."""
ALGORITHMS: tuple[Algorithm, ...] = ("lr", "xgboost", "lightgbm", "catboost", "randomforest", "mlp")
DEFAULT_ALGORITHMS: tuple[Algorithm, ...] = ("lr", "xgboost", "lightgbm", "catboost")
"""Trained when the CR or the command line names none. The random forest and the MLP are opt-in:
neither beat the boosters on the bundled real data sets, and with them a bank-marketing training
took 2.9x as long (docs/trainer.md, "More model families")."""
VALIDATION_FRACTION = 0.15
TEST_FRACTION = 0.15
"""Default shares of the rows held out for validation (search, selection) and test (the report)."""
MIN_FRACTION, MAX_FRACTION, MAX_HELD_OUT = 0.05, 0.4, 0.6
FRACTIONS_TOO_LARGE = "validationFraction + testFraction must not exceed 0.6 (the rest trains)"
MAX_CV_FOLDS = 20
MIN_FEATURE_SAMPLE = 1000
"""The fewest training rows the feature pipeline may be fitted on (``featureSample``)."""
MAX_PARALLEL_TRIALS = 64
"""Search trials in flight at once on a Ray cluster (``training.ray.parallelTrials``, ``--parallel-trials``)."""
ONE_FOLD = "cvFolds must be 0 (off) or at least 2: one fold leaves nothing to train on"


def check_fractions(validation: float, test: float) -> None:
    """The CR's and the trainer's rule: at least 40 % of the rows train."""
    if validation + test > MAX_HELD_OUT + 1e-9:
        raise ValueError(f"{FRACTIONS_TOO_LARGE}: got {validation:g} + {test:g}")
TEXT_MAX_FEATURES = 50
"""Default TF-IDF vocabulary size per declared text column (seed 001 used 100 for titles, 200 for
descriptions; lead notes are shorter, and every column is a feature each model must weigh)."""

CRON_PATTERN = (
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)"
    r"|([0-9*/,?A-Za-z-]+[ \t]+){4}[0-9*/,?A-Za-z-]+)$"
)
"""Five cron fields or a ``@daily``-style macro; croniter checks the fields' values in the operator."""


class DatasetSpec(ApiModel):
    """Where the labelled leads are and which columns mean what."""

    uri: str = Field(min_length=1, max_length=2048,
                     pattern=r"^(s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?|/.+|file://.+)$",
                     description="Training data: s3://bucket/key or an absolute path in the trainer "
                                 "image (csv or parquet file, or a directory of parquet files).")
    format: Literal["auto", DataFormat] = Field(
        "auto", description="File format; auto decides from the extension.")
    target_column: str = Field("converted", min_length=1, max_length=256,
                               description="Binary label column: 1/true when the lead converted.")
    id_column: str | None = Field("lead_id", max_length=256,
                                  description="Lead identifier column; never used as a feature.")
    time_column: str | None = Field(
        None, max_length=256,
        description="Lead creation timestamp; enables the time-aware split and hour/day features.")
    exclude_columns: list[str] = Field(
        default_factory=list, max_length=200,
        description="Columns never used as features (free text, internal notes, ...).")
    post_outcome_columns: list[str] = Field(
        default_factory=list, max_length=200,
        description="Columns filled only after the outcome is known (they leak the label): training "
                    "is refused while they are present, unless allowLeaky.")
    allow_leaky: bool = Field(False, description="Train despite leaky columns, recording warnings "
                                                 "in the model card instead of failing.")
    targets: TargetsSpec | None = Field(
        None, description="Learn from graded targets: each lead's feedback (the collector export's feedback.* "
                          "columns, or a target_score column) mapped to a score in [0, 1] (seed 001's values by "
                          "default; targets: {} uses them). Calibration, model selection and every metric still "
                          "use the binary targetColumn. Unset: the binary outcome only (docs/trainer.md).")
    text_columns: list[str] = Field(
        default_factory=list, max_length=20, json_schema_extra={"x-kubernetes-list-type": "set"},
        description="Free-text columns (notes, inquiries) encoded in full: TF-IDF over a bounded vocabulary, "
                    "keyword flags, e-mail/phone patterns, money amounts and years. Other text columns give "
                    "their length only.")
    text_max_features: int = Field(TEXT_MAX_FEATURES, ge=1, le=1000,
                                   description="TF-IDF vocabulary size per text column (most frequent training "
                                               "words, English stop words left out).")


TrainingEngine = Literal["job", "ray"]
"""What runs a training: a ``batch/v1`` Job (one pod) or a KubeRay ``RayJob`` (a Ray cluster)."""
RAY_ONLY_WITH_RAY_ENGINE = "spec.training.ray is only read with engine ray"


class RayGroupSpec(ApiModel):
    """One Ray pod group (the head, or the workers): its container's resources."""

    resources: Resources = Field(default_factory=Resources,
                                 description="CPU/memory requests and limits of each pod's Ray container.")


class RaySpec(ApiModel):
    """The Ray cluster a ``ray`` training runs on (KubeRay ``RayJob.spec.rayClusterSpec``)."""

    head: RayGroupSpec = Field(default_factory=RayGroupSpec,
                               description="The head pod: runs the driver (leadscore train --engine ray).")
    workers: int = Field(2, ge=1, le=256, description="Worker pods (replicas of the one worker group).")
    worker: RayGroupSpec = Field(default_factory=RayGroupSpec, description="Each worker pod.")
    gpu_per_worker: int = Field(0, ge=0, le=8,
                                description="GPUs per worker pod (nvidia.com/gpu); 0 trains on CPU. The head "
                                            "gets none.")
    parallel_trials: int = Field(
        1, ge=1, le=MAX_PARALLEL_TRIALS,
        description="Hyper-parameter search trials of each booster fitting at once, each on its share of the "
                    "cluster's CPUs (leadscore train --parallel-trials; clamped to the CPUs; docs/scale.md).")


class TrainingSpec(ApiModel):
    """How the trainer Job runs."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": [
        {"rule": f"self.validationFraction + self.testFraction <= {MAX_HELD_OUT + 1e-9!r}",
         "message": FRACTIONS_TOO_LARGE},
        {"rule": "!has(self.ray) || (has(self.engine) && self.engine == 'ray')",
         "message": RAY_ONLY_WITH_RAY_ENGINE},
        {"rule": "!has(self.cvFolds) || self.cvFolds != 1", "message": ONE_FOLD}]})

    engine: TrainingEngine = Field(
        "job", description="job: one trainer pod (a batch/v1 Job); ray: a KubeRay RayJob sized by spec.training.ray "
                           "(needs the KubeRay operator and the trainer-ray image; docs/scale.md).")
    ray: RaySpec | None = Field(None, description="The Ray cluster of engine ray (default: 2 workers).")

    algorithms: list[Algorithm] = Field(
        default_factory=lambda: list(DEFAULT_ALGORITHMS), min_length=1, max_length=len(ALGORITHMS),
        json_schema_extra={"x-kubernetes-list-type": "set"},
        description="Algorithms to train: lr (logistic regression baseline), xgboost, lightgbm, catboost, "
                    "randomforest, mlp (the last two opt-in).")
    ensemble: bool = Field(True, description="Combine the calibrated algorithms (a weighted blend, or a stacking "
                                             "meta-learner) when that beats the best single model on validation.")
    params: Params = Field(
        default_factory=dict, max_length=len(ALGORITHMS),
        json_schema_extra={"x-kubernetes-validations": PARAMS_RULES},
        description="Per algorithm, hyper-parameters pinned ({value}) or searched within bounds ({low, high}), "
                    "e.g. {lightgbm: {num_leaves: {high: 31}}}; names as the library spells them "
                    "(docs/trainer.md lists them).")
    validation_fraction: float = Field(
        VALIDATION_FRACTION, ge=MIN_FRACTION, le=MAX_FRACTION,
        description="Share of the rows for validation (early stopping, search, model choice); the most recent "
                    "ones when the dataset has a timeColumn.")
    test_fraction: float = Field(
        TEST_FRACTION, ge=MIN_FRACTION, le=MAX_FRACTION,
        description="Share of the rows held out for the reported test metrics; the most recent ones when the "
                    "dataset has a timeColumn.")
    cv_folds: int | None = Field(
        None, ge=0, le=MAX_CV_FOLDS,
        description="k-fold ROC-AUC of the shipped configuration over every labelled row, reported beside the "
                    "test part's: unset = 5 folds when the test part holds fewer than 200 positives and there is "
                    "no timeColumn; 0 = off; 2 or more = that many (docs/trainer.md, cross-validated estimate).")
    feature_sample: int | None = Field(
        None, ge=MIN_FEATURE_SAMPLE, le=2**31 - 1,
        description="Fit the feature pipeline on a seeded random sample of at most this many training rows (the "
                    "sampled rows get out-of-fold target rates, the others are encoded like validation rows); "
                    "unset = every training row. Bounds the fit's time and memory on big data sets, e.g. with "
                    "engine ray (docs/scale.md).")
    trials: int = Field(20, ge=1, le=1000,
                        description="Optuna trials per algorithm; the first is the algorithm's default "
                                    "hyper-parameters, so 1 trains the defaults only.")
    time_budget_seconds: int = Field(
        900, ge=10, le=86400, description="Wall-clock budget for the whole hyper-parameter search.")
    seed: int = Field(42, ge=0, le=2**31 - 1, description="Random seed: same data + seed = same model.")
    gpu: int = Field(0, ge=0, le=8, description="GPUs for the trainer (nvidia.com/gpu); "
                                                "0 trains on CPU.")
    resources: Resources = Field(default_factory=Resources,
                                 description="CPU/memory requests and limits of the trainer container.")
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="Node labels the trainer Pod must match (added to the "
                                          "operator's GPU node selector when gpu > 0).")
    tolerations: list[Toleration] = Field(
        default_factory=list, max_length=20,
        description="Tolerations of the trainer Pod (the nvidia.com/gpu toleration is added when gpu > 0).")
    image: str | None = Field(None, max_length=512,
                              description="Trainer image override; default is the operator's setting.")
    backoff_limit: int = Field(1, ge=0, le=10, description="Job retries before training counts as failed.")
    active_deadline_seconds: int = Field(
        7200, ge=60, le=7 * 86400, description="Kill the training Job after this many seconds.")
    ttl_seconds_after_finished: int = Field(
        86400, ge=0, le=30 * 86400, description="Delete a finished Job (not its artifacts) after this long.")

    @field_validator("params")
    @classmethod
    def _known_params(cls, value: Params) -> Params:
        return check_params(value)

    @model_validator(mode="after")
    def _fractions(self) -> TrainingSpec:
        check_fractions(self.validation_fraction, self.test_fraction)
        if self.cv_folds == 1:
            raise ValueError(ONE_FOLD)
        return self

    @model_validator(mode="after")
    def _ray_with_ray_engine(self) -> TrainingSpec:
        if self.ray is not None and self.engine != "ray":
            raise ValueError(RAY_ONLY_WITH_RAY_ENGINE)
        return self

    def ray_cluster(self) -> RaySpec:
        """The Ray cluster to run on: ``ray``, or the defaults."""
        return self.ray or RaySpec()


class ScheduleSpec(ApiModel):
    """Periodic retraining on fresh data."""

    cron: str = Field(
        max_length=128, pattern=CRON_PATTERN,
        description="Cron expression in UTC (5 fields, e.g. '0 3 * * 1') or a macro like @daily.")
    suspend: bool = Field(False, description="Pause scheduled retraining without deleting the schedule.")


class DriftTrigger(ApiModel):
    """Retrain when what the served version sees has moved away from its training reference."""

    score_psi: float | None = Field(0.2, gt=0, le=10,
                                    description="Retrain when the score's PSI reaches this (0.2: drift).")
    fields: int | None = Field(None, ge=1, le=1000,
                               description="Retrain when at least this many input fields have drifted.")
    window: str = Field("7d", pattern=DURATION_PATTERN, max_length=32,
                        description="Served leads compared: the last window (at least 500 are needed).")


class DegradationTrigger(ApiModel):
    """Retrain when the live ROC-AUC has fallen below the training ROC-AUC, beyond chance."""

    margin: float = Field(0.03, ge=0, le=0.5,
                          description="Retrain when even the upper end of the live AUC's 95 % interval is more "
                                      "than this below the training AUC.")


class RetrainSpec(ApiModel):
    """Retraining that triggers itself from the collector's figures (checked on the health timer)."""

    drift: DriftTrigger | None = Field(None, description="Input or score drift of the served version.")
    degradation: DegradationTrigger | None = Field(None, description="Live accuracy drop of the served version.")
    new_outcomes: int | None = Field(None, ge=1, le=10_000_000,
                                     description="Retrain once this many matured leads (with their outcomes) "
                                                 "were scored since the last training started.")
    max_age: str | None = Field(None, pattern=DURATION_PATTERN, max_length=32,
                                description="Retrain when the served version is older than this (e.g. 7d).")
    min_outcomes: int = Field(100, ge=1, le=10_000_000,
                              description="No degradation verdict on fewer matured leads.")
    maturity: str = Field("14d", pattern=DURATION_PATTERN, max_length=32,
                          description="Time a scored lead is given to convert before it counts.")
    cooldown: str = Field("1d", pattern=DURATION_PATTERN, max_length=32,
                          description="No automatic retraining sooner than this after the last training started.")


class PromotionSpec(ApiModel):
    """The gate a new version passes before it serves traffic."""

    min_roc_auc: float = Field(0.6, ge=0.5, le=1.0,
                               description="Minimum held-out ROC-AUC of a new version.")
    min_gain: float = Field(0.0, ge=-1.0, le=1.0,
                            description="Minimum ROC-AUC gain over the active version (0.01 = one point); "
                                        "negative tolerates a small regression.")
    auto_rollout: bool = Field(True, description="Serve a version that passed the gate at once; "
                                                 "false only records it (promote with an ABExperiment).")


class ServingSpec(ApiModel):
    """How the active version is served by the KServe InferenceService."""

    replicas: int = Field(1, ge=0, le=50, description="Minimum predictor replicas (0 allows scale to zero).")
    max_replicas: int = Field(3, ge=1, le=100, description="Maximum predictor replicas.")
    resources: Resources = Field(default_factory=Resources,
                                 description="CPU/memory requests and limits of the predictor container.")
    gpu: int = Field(0, ge=0, le=8, description="GPUs per predictor replica (onnxruntime CUDA provider).")
    canary_traffic_percent: int | None = Field(
        None, ge=0, le=100,
        description="Share of traffic a newly promoted version gets while the previous one keeps the rest; "
                    "unset rolls out to 100% at once.")
    pinned_version: str | None = Field(
        None, pattern=VERSION_PATTERN,
        description="Serve this version whatever is newer (rollback); unset serves the newest promoted.")


PRIORITY_PATTERN = r"^P[0-9]$"
TIER_EXACTLY_ONE = ("set exactly one of minScore (a score cut-off), topPercent (a share of leads) and "
                    "leadsPerDay (a daily capacity)")
TIERS_ONE_KIND = ("tiers must all set minScore, all topPercent or all leadsPerDay: high, medium and low are "
                  "cut off the same way")
CAPACITY_NEEDS_VOLUME = "tiers set by leadsPerDay need expectedDailyLeads (the leads a day brings)"
CAPACITY_EXCEEDS_VOLUME = "leadsPerDay of high, medium and low add up to more than expectedDailyLeads"
SCORES_DECREASE = "tier thresholds must decrease: high.minScore > medium.minScore > low.minScore"
SHARES_GROW = ("tier shares must grow: high.topPercent < medium.topPercent < low.topPercent "
               "(each is the top share of leads in that tier or above)")


class Tier(ApiModel):
    """One score band, cut off by a score (``minScore``) or by a share of leads (``topPercent``)."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": [
        {"rule": "(has(self.minScore) ? 1 : 0) + (has(self.topPercent) ? 1 : 0) + (has(self.leadsPerDay) ? 1 : 0) "
                 "== 1", "message": TIER_EXACTLY_ONE}]})

    min_score: int | None = Field(None, ge=0, le=100, description="Lowest score (0-100) in this tier.")
    top_percent: float | None = Field(
        None, gt=0, le=100,
        description="This tier and the ones above hold the top topPercent % of leads: resolved at training "
                    "into a score cut-off on the held-out scores (recorded in the model card and "
                    "status.versions[].tiers).")
    leads_per_day: int | None = Field(
        None, ge=1, le=10_000_000,
        description="This tier takes the next leadsPerDay best leads of a day (what the team can contact within "
                    "the SLA), out of spec.scoring.expectedDailyLeads: a share of leads, resolved like topPercent.")
    action: str = Field(min_length=1, max_length=128, description="Recommended action for leads in the tier.")
    sla: str | None = Field(None, pattern=DURATION_PATTERN, max_length=32,
                            description="How soon a lead of this tier must be contacted (e.g. 30m, 4h, 24h); "
                                        "unset: 30m high, 4h medium, 24h low.")
    priority: str | None = Field(None, pattern=PRIORITY_PATTERN,
                                 description="Work-queue priority, P0 (first) to P9; unset: P0 high, P1 medium, "
                                             "P2 low.")
    min_confidence: float | None = Field(
        None, ge=0, le=1,
        description="A lead of this tier whose confidence (1 - the width of its Venn-ABERS interval, "
                    "docs/trainer.md) is below this gets the next tier down (its action, SLA and priority; "
                    "again if that tier's minConfidence also fails). Leads without a confidence (versions "
                    "trained before it, the rules) keep their tier. Unset: no confidence rule.")

    @model_validator(mode="after")
    def _one_cutoff(self) -> Tier:
        if [self.min_score, self.top_percent, self.leads_per_day].count(None) != 2:
            raise ValueError(TIER_EXACTLY_ONE)
        return self


class ScoringSpec(ApiModel):
    """How a probability becomes a score (0-100), a tier and an action.

    Scores are calibrated probabilities x 100, so fixed cut-offs fit one base rate only; the
    default cuts by share of leads instead (top 5 % high, next 15 % medium, next 30 % low)."""

    high: Tier = Field(Tier(top_percent=5, action="immediate_assignment", sla="30m", priority="P0"),
                       description="Tier high; default the top 5 % of leads, immediate assignment within 30 "
                                   "minutes, P0.")
    medium: Tier = Field(Tier(top_percent=20, action="standard_routing", sla="4h", priority="P1"),
                         description="Tier medium; default the next 15 % (top 20 % with high), standard routing "
                                     "within 4 hours, P1.")
    low: Tier = Field(Tier(top_percent=50, action="nurture", sla="24h", priority="P2"),
                      description="Tier low; default the next 30 % (top 50 % with the tiers above), automated "
                                  "nurture within 24 hours, P2. Below it: very_low.")
    very_low_action: str = Field("archive", min_length=1, max_length=128,
                                 description="Action for leads below the low tier.")
    very_low_sla: str | None = Field(None, pattern=DURATION_PATTERN, max_length=32,
                                     description="Contact deadline of very_low leads; unset: none.")
    very_low_priority: str = Field("P3", pattern=PRIORITY_PATTERN,
                                   description="Work-queue priority of very_low leads.")
    expected_daily_leads: int | None = Field(
        None, ge=1, le=10_000_000,
        description="Leads a day brings, for tiers set by leadsPerDay (capacity / volume = the share of leads).")

    @model_validator(mode="after")
    def _ordered(self) -> ScoringSpec:
        tiers = (self.high, self.medium, self.low)
        by_score = [t.min_score for t in tiers]
        by_share = [t.top_percent for t in tiers]
        by_capacity = [t.leads_per_day for t in tiers]
        if None not in by_score:
            if not by_score[0] > by_score[1] > by_score[2]:  # type: ignore[operator]
                raise ValueError(SCORES_DECREASE)
        elif None not in by_share:
            if not by_share[0] < by_share[1] < by_share[2]:  # type: ignore[operator]
                raise ValueError(SHARES_GROW)
        elif None not in by_capacity:
            if self.expected_daily_leads is None:
                raise ValueError(CAPACITY_NEEDS_VOLUME)
            if sum(by_capacity) > self.expected_daily_leads:  # type: ignore[arg-type]
                raise ValueError(CAPACITY_EXCEEDS_VOLUME)
        else:
            raise ValueError(TIERS_ONE_KIND)
        return self

    @property
    def by_share(self) -> bool:
        """True when the tiers are shares of leads (topPercent, or leadsPerDay of expectedDailyLeads),
        resolved per version on its held-out scores."""
        return self.high.min_score is None

    def top_percents(self) -> tuple[float, float, float]:
        """The top share of leads (percent) of high, medium and low, each with the tiers above it."""
        tiers = (self.high, self.medium, self.low)
        if self.high.leads_per_day is None:
            return tuple(float(t.top_percent or 0) for t in tiers)  # type: ignore[return-value]
        volume = float(self.expected_daily_leads or 1)
        high, medium, low = (float(t.leads_per_day or 0) for t in tiers)
        return 100 * high / volume, 100 * (high + medium) / volume, 100 * (high + medium + low) / volume

    def to_json(self) -> str:
        """The compact JSON the trainer's ``--scoring`` and the predictor's ``LEADSCORE_SCORING``
        carry: the same spelling on both sides, so a model card and an endpoint tier alike."""
        return json.dumps(self.to_wire(), sort_keys=True, separators=(",", ":"))


_ALL_SCORES = "has(self.high.minScore) && has(self.medium.minScore) && has(self.low.minScore)"
_ALL_SHARES = "has(self.high.topPercent) && has(self.medium.topPercent) && has(self.low.topPercent)"
_ALL_CAPACITY = "has(self.high.leadsPerDay) && has(self.medium.leadsPerDay) && has(self.low.leadsPerDay)"
SCORING_RULES: list[JsonValue] = [
    {"rule": f"({_ALL_SCORES}) || ({_ALL_SHARES}) || ({_ALL_CAPACITY})", "message": TIERS_ONE_KIND},
    {"rule": f"!({_ALL_CAPACITY}) || has(self.expectedDailyLeads)", "message": CAPACITY_NEEDS_VOLUME},
    {"rule": f"!({_ALL_CAPACITY}) || !has(self.expectedDailyLeads) || self.high.leadsPerDay + "
             "self.medium.leadsPerDay + self.low.leadsPerDay <= self.expectedDailyLeads",
     "message": CAPACITY_EXCEEDS_VOLUME},
    {"rule": f"!({_ALL_SCORES}) || (self.high.minScore > self.medium.minScore "
             "&& self.medium.minScore > self.low.minScore)", "message": SCORES_DECREASE},
    {"rule": f"!({_ALL_SHARES}) || (self.high.topPercent < self.medium.topPercent "
             "&& self.medium.topPercent < self.low.topPercent)", "message": SHARES_GROW},
]


class TierCutoff(ApiModel):
    """One tier of a trained version: its score cut-off and the share of held-out leads it got."""

    tier: str = Field(description="high, medium, low or very_low.")
    min_score: int = Field(ge=0, le=100, description="Lowest score in the tier (0 for very_low).")
    top_percent: float | None = Field(None, description="The top share asked for (topPercent, or the leadsPerDay "
                                                        "of the tiers down to this one / expectedDailyLeads), "
                                                        "when the tiers were set by share or capacity.")
    held_out_percent: float = Field(ge=0, le=100, description="Percent of the held-out leads that fell in "
                                                              "this tier (the tier mix).")


class RetentionSpec(ApiModel):
    """How many versions keep their artifacts."""

    keep_versions: int = Field(5, ge=1, le=100,
                               description="Keep artifacts of the newest N versions (the active and "
                                           "pinned versions are always kept); older ones are deleted.")


class LeadScoringModelSpec(ApiModel):
    """Desired state of a LeadScoringModel."""

    vertical: Vertical = Field(description="Business vertical: pc (property & casualty), health, "
                                           "commercial insurance, or generic B2B/real-estate leads.")
    dataset: DatasetSpec = Field(description="Training data.")
    training: TrainingSpec = Field(default_factory=TrainingSpec, description="Trainer Job settings.")
    schedule: ScheduleSpec | None = Field(None, description="Retraining schedule; unset retrains on "
                                                            "spec changes and the retrain annotation only.")
    promotion: PromotionSpec = Field(default_factory=PromotionSpec, description="Promotion gate.")
    serving: ServingSpec = Field(default_factory=ServingSpec, description="InferenceService settings.")
    scoring: ScoringSpec = Field(default_factory=ScoringSpec,
                                 json_schema_extra={"x-kubernetes-validations": SCORING_RULES},
                                 description="Score tiers and actions.")
    retention: RetentionSpec = Field(default_factory=RetentionSpec, description="Artifact retention.")
    retrain: RetrainSpec | None = Field(None, description="Automatic retraining triggers (drift, degradation, "
                                                          "newOutcomes, maxAge) with a cooldown.")


class ModelVersion(ApiModel):
    """One trained version."""

    version: str = Field(pattern=VERSION_PATTERN, description="Version label, v1, v2, ...")
    created: datetime | None = Field(None, description="When training finished.")
    metrics: dict[str, float] = Field(default_factory=dict,
                                      description="Held-out metrics: roc_auc, pr_auc, brier, ...")
    artifact_uri: str = Field(description="Artifact directory (s3://bucket/<ns>/<model>/<version>/).")
    mlflow_run_id: str | None = Field(None, description="MLflow run that logged the training.")
    job_name: str = Field(description="Training Job that produced the version.")
    shipped: str | None = Field(None, description="What shipped: an algorithm or 'ensemble'.")
    gate: Literal["Passed", "Failed"] = Field(description="Outcome of the promotion gate.")
    gate_message: str | None = Field(None, description="Why the gate passed or failed.")
    artifacts_deleted: bool = Field(False, description="True once retention removed the artifacts.")
    trigger: str | None = Field(None, description="Why its training started (created, schedule, drift, ...).")
    tiers: list[TierCutoff] = Field(default_factory=list,
                                    description="The version's tier cut-offs, resolved at training on its "
                                                "held-out scores, and the tier mix they gave there.")


class TrafficTarget(ApiModel):
    """Share of requests one version receives (mirrored from the InferenceService)."""

    version: str = Field(description="Model version, or 'rules' for the rule-based baseline.")
    percent: int = Field(ge=0, le=100, description="Percent of requests.")


class TrainingRun(ApiModel):
    """The training Job (or RayJob) currently running or last run."""

    version: str = Field(pattern=VERSION_PATTERN, description="Version the Job trains.")
    job_name: str = Field(description="Name of the Job (engine job) or RayJob (engine ray).")
    engine: TrainingEngine = Field("job", description="What runs it: a batch/v1 Job (job) or a KubeRay RayJob "
                                                      "(ray), as spec.training.engine said when it started.")
    trigger: str = Field(description="Why it started: created, specChanged, schedule, annotation, drift, "
                                     "degradation, newOutcomes, maxAge.")
    started: datetime | None = Field(None, description="When the operator created the Job.")
    spec_hash: str = Field(description="Hash of the training-relevant spec it was started for.")
    finished: bool = Field(False, description="True once the operator handled the Job's outcome.")
    stage: str | None = Field(None, description="What the running training is doing, as the trainer last "
                                                "reported it (loading, tuning lightgbm 12/25, exporting).")


class ExperimentBinding(ServingClaim):
    """The ABExperiment currently splitting this model's traffic (at most one), and its claim."""

    name: str = Field(description="ABExperiment name (same namespace).")


class DriftHealth(ApiModel):
    """The served version's drift over the last window (collector figures)."""

    score_psi: float = Field(description="PSI of the score against the training reference.")
    drifted_fields: list[str] = Field(default_factory=list, description="Input fields flagged as drifted.")
    leads: int = Field(ge=0, description="Served leads compared.")
    since: datetime = Field(description="Window start.")


class TierHealth(ApiModel):
    """Matured leads of one tier and how many converted."""

    tier: str = Field(description="high, medium, low or very_low.")
    leads: int = Field(ge=0, description="Matured leads the version put in this tier.")
    rate: float = Field(ge=0, le=1, description="Share of them that converted.")


class ModelHealth(ApiModel):
    """How the served version holds up (see docs/monitoring.md)."""

    version: str = Field(description="Version judged (the served one).")
    summary: str = Field(description="OK, Drift, Degraded, Watch or Unknown (the kubectl column).")
    message: str = Field(description="One line: what was measured and what it means.")
    last_evaluated: datetime = Field(description="When the collector's figures were read.")
    drift: DriftHealth | None = Field(None, description="Null when fewer leads than the minimum were served.")
    live_roc_auc: float | None = Field(None, description="ROC-AUC of matured leads.")
    live_roc_auc_lower: float | None = Field(None, description="Lower end of its 95 % interval.")
    live_roc_auc_upper: float | None = Field(None, description="Upper end of its 95 % interval.")
    training_roc_auc: float | None = Field(None, description="Held-out ROC-AUC at training.")
    matured_leads: int = Field(0, ge=0, description="Leads scored since the last training that had time to convert.")
    conversion_by_tier: list[TierHealth] = Field(default_factory=list,
                                                 description="Matured leads and conversion rate per tier.")


class LeadScoringModelStatus(ApiModel):
    """Observed state of a LeadScoringModel (written by the operator only)."""

    phase: str | None = Field(None, description="Pending, Training, Deploying, Ready, Degraded or "
                                                "Failed; computed from conditions.")
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
        description="Trained and Serving conditions.")
    observed_generation: int | None = Field(None, description="metadata.generation last acted on.")
    active_version: str | None = Field(None, description="Newest promoted version: what is served "
                                                        "unless spec.serving.pinnedVersion says otherwise.")
    served_version: str | None = Field(None, description="Version in the InferenceService's storageUri now "
                                                        "(the pinned one during a rollback).")
    latest_version: str | None = Field(None, description="Newest trained version (passed the gate or not).")
    previous_version: str | None = Field(
        None, description="Version served before the active one (keeps the rest of a canary split).")
    active_roc_auc: float | None = Field(None, description="Held-out ROC-AUC of the served version.")
    versions: list[ModelVersion] = Field(default_factory=list,
                                         description="Every trained version, oldest first.")
    endpoint: str | None = Field(None, description="URL of the InferenceService.")
    serving_ready: bool | None = Field(None, description="InferenceService Ready condition.")
    traffic: list[TrafficTarget] = Field(default_factory=list,
                                         description="Traffic split as the InferenceService reports it.")
    experiment: ExperimentBinding | None = Field(
        None, description="The running ABExperiment that owns the traffic split, if any.")
    last_training_job: str | None = Field(None, description="Name of the most recent training Job.")
    training: TrainingRun | None = Field(None, description="The running or last training.")
    last_schedule_time: datetime | None = Field(None, description="Last cron tick that started a training.")
    retrain_request: str | None = Field(
        None, description="Value of the leadscoring.io/retrain annotation last acted on.")
    health: ModelHealth | None = Field(None, description="Drift and live accuracy of the served version.")

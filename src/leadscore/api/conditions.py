"""Status conditions shaped like ``metav1.Condition``, and the phases computed from them.

``set_condition`` returns the whole new list because a JSON merge patch replaces lists;
``lastTransitionTime`` moves only when ``status`` flips, as ``meta.SetStatusCondition`` does.
A phase is never stored on its own: ``model_phase`` / ``experiment_phase`` derive it, so the
phase and the conditions can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from leadscore.api.base import ApiModel

ConditionStatus = Literal["True", "False", "Unknown"]
TRUE: ConditionStatus = "True"
FALSE: ConditionStatus = "False"
UNKNOWN: ConditionStatus = "Unknown"

# Condition types (positive adjectives).
TRAINED = "Trained"
"""LeadScoringModel: the latest training produced a version that passed the gate."""
SERVING = "Serving"
"""LeadScoringModel: the InferenceService for the active version is ready."""
RUNNING = "Running"
"""ABExperiment: traffic is split and outcomes are being collected."""
CONCLUDED = "Concluded"
"""ABExperiment: a decision was reached and applied."""
HEALTHY = "Healthy"
"""LeadScoringModel: the served version shows no drift or accuracy drop (the phase ignores it)."""

# Reasons (CamelCase past-tense facts).
JOB_STARTED = "JobStarted"
JOB_ADOPTED = "JobAdopted"
JOB_FAILED = "JobFailed"
ENGINE_UNAVAILABLE = "EngineUnavailable"
"""spec.training.engine ray on a cluster that serves no RayJob kind (KubeRay is not installed)."""
RESULT_UNREADABLE = "ResultUnreadable"
METRICS_BELOW_THRESHOLD = "MetricsBelowThreshold"
VERSION_PROMOTED = "VersionPromoted"
VERSION_RECORDED = "VersionRecorded"
VERSION_PINNED = "VersionPinned"
PINNED_VERSION_MISSING = "PinnedVersionMissing"
NO_VERSION_YET = "NoVersionYet"
ISVC_READY = "InferenceServiceReady"
ISVC_NOT_READY = "InferenceServiceNotReady"
MODEL_NOT_FOUND = "ModelNotFound"
ARM_VERSION_MISSING = "ArmVersionMissing"
ANOTHER_EXPERIMENT_RUNNING = "AnotherExperimentRunning"
TRAFFIC_SPLIT = "TrafficSplit"
SUMMARY_UNAVAILABLE = "SummaryUnavailable"
DECISION_REACHED = "DecisionReached"
EXPERIMENT_HALTED = "ExperimentHalted"
EXPERIMENT_RELEASED = "ExperimentReleased"
"""LeadScoringModel event: an ABExperiment ended and the active version serves every lead again."""
TRAFFIC_REQUESTED = "TrafficRequested"
"""ABExperiment: its claim is stated; the model's reconciler has not served it yet."""
STOPPED_BY_USER = "StoppedByUser"
"""spec.stopped was set: ended before a decision, nothing promoted."""
CONTROL_NOT_SERVING = "ControlNotServing"
RANDOM_SPLIT_UNAVAILABLE = "RandomSplitUnavailable"
"""assignment random of two versions needs KServe's Knative mode; the model runs in Standard."""
MODEL_PINNED = "ModelPinned"
HEALTH_CHECKED = "HealthChecked"
HEALTH_UNKNOWN = "HealthUnknown"
RETRAIN_TRIGGERED = "RetrainTriggered"

WAITING_REASONS = frozenset({ANOTHER_EXPERIMENT_RUNNING, MODEL_NOT_FOUND, MODEL_PINNED})
"""``Running=False`` reasons that may clear by themselves: the experiment stays Pending."""
FINAL_REASONS = frozenset({DECISION_REACHED, EXPERIMENT_HALTED, STOPPED_BY_USER})
"""``Running=False`` reasons after which an experiment never runs again."""


class Condition(ApiModel):
    """One observation of the resource's state, shaped like metav1.Condition."""

    type: str = Field(description="Kind of condition, e.g. Trained, Serving, Running, Concluded.",
                      max_length=316, pattern=r"^[A-Za-z][A-Za-z0-9]*$")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(description="CamelCase reason for the last transition, e.g. JobFailed.",
                        max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
    message: str = Field("", description="Human-readable details: the field, the problem, the value.",
                         max_length=32768)
    last_transition_time: datetime = Field(
        description="When status last changed (not when the condition was last written).")
    observed_generation: int | None = Field(
        None, ge=0, description="metadata.generation the condition was computed from.")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


ConditionsLike = Iterable[Mapping[str, Any]] | Sequence[Condition] | None


def parse_conditions(raw: ConditionsLike) -> list[Condition]:
    """Conditions from a status body or already parsed (missing → empty)."""
    return [c if isinstance(c, Condition) else Condition.model_validate(dict(c)) for c in raw or ()]


def find_condition(conditions: Sequence[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def set_condition(
    current: ConditionsLike,
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    *,
    generation: int | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """The whole new condition list (wire form), with ``type_`` added or updated."""
    conditions = parse_conditions(current)
    previous = find_condition(conditions, type_)
    moved = previous is None or previous.status != status
    updated = Condition(
        type=type_, status=status, reason=reason, message=message,
        last_transition_time=(now or _now()) if moved or previous is None else previous.last_transition_time,
        observed_generation=generation,
    )
    result = [updated if c.type == type_ else c for c in conditions]
    if previous is None:
        result.append(updated)
    return [c.to_wire() for c in result]


ModelPhase = Literal["Pending", "Training", "Deploying", "Ready", "Degraded", "Failed"]
ExperimentPhase = Literal["Pending", "Running", "Concluded", "Stopped"]


def model_phase(raw: ConditionsLike) -> ModelPhase:
    """A LeadScoringModel's phase: a running training first; then a failed training (Degraded
    while an older version serves, Failed when nothing does); then serving readiness."""
    conditions = parse_conditions(raw)
    trained = find_condition(conditions, TRAINED)
    serving = find_condition(conditions, SERVING)
    has_version = serving is not None and serving.reason != NO_VERSION_YET
    if trained is not None and trained.status == UNKNOWN:
        return "Training"
    if trained is not None and trained.status == FALSE:
        return "Degraded" if has_version else "Failed"
    if serving is not None and serving.status == TRUE:
        return "Ready"
    return "Deploying" if has_version else "Pending"


def experiment_phase(raw: ConditionsLike) -> ExperimentPhase:
    """An ABExperiment's phase: Concluded wins; a blocked start is Pending; other stops are Stopped."""
    conditions = parse_conditions(raw)
    concluded = find_condition(conditions, CONCLUDED)
    running = find_condition(conditions, RUNNING)
    if concluded is not None and concluded.status == TRUE:
        return "Concluded"
    if running is None:
        return "Pending"
    if running.status == TRUE:
        return "Running"
    if running.status == UNKNOWN or running.reason in WAITING_REASONS:
        return "Pending"
    return "Stopped"

"""One ABExperiment, reconciled: claim the model's traffic, evaluate, decide, withdraw the claim.

This reconciler writes its own ABExperiment's status and nothing else. It states what it wants
there: ``status.claim`` (the split it asks its model to serve) while it runs, then
``status.winnerVersion`` when it ends with a winner. The LeadScoringModel's reconciler, the only
writer of the model's status and InferenceService, reads those through the operator's index
(``leadscore.operator.claims``): it serves the oldest valid claim, names the holder in the model's
``status.experiment``, and lets it go (promoting the winner) once the claim is withdrawn. The
experiment counts as started when it sees itself named there: of two experiments wanting one
model, the model serves one and the other records why it waits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import kopf

from leadscore.api import abexperiment
from leadscore.api import conditions as c
from leadscore.api.abexperiment import (
    RULES,
    ABExperimentSpec,
    ABExperimentStatus,
    ArmStatus,
    ServingClaim,
    winner_version,
)
from leadscore.api.leadscoringmodel import LeadScoringModelSpec, LeadScoringModelStatus
from leadscore.api.summary import ExperimentSummary, ServingSplit
from leadscore.experiments.decision import ExperimentAnalysis, decide, status_fields
from leadscore.experiments.settings import ExperimentSettings
from leadscore.operator import metrics
from leadscore.operator.claims import arms_problem
from leadscore.operator.kube import Kube
from leadscore.operator.model_reconciler import Event, serving_mode
from leadscore.operator.settings import OperatorSettings

SummaryFetcher = Callable[[str, str, ServingSplit | None], ExperimentSummary]
"""(namespace, experiment, split) → the collector's summary; raises on any trouble."""


@dataclass
class ExperimentContext:
    kube: Kube
    settings: OperatorSettings
    body: Any
    namespace: str
    name: str
    generation: int | None
    spec: ABExperimentSpec
    status: ABExperimentStatus
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    events: list[Event] = field(default_factory=list)
    """Kubernetes Events to post about the CR; the handler posts them after the pass."""

    def condition(self, type_: str, status: c.ConditionStatus, reason: str, message: str) -> None:
        self.status.conditions = c.parse_conditions(c.set_condition(
            self.status.conditions, type_, status, reason, message, generation=self.generation, now=self.now))


def context_from(kube: Kube, settings: OperatorSettings, body: Any) -> ExperimentContext:
    meta = body["metadata"]
    try:
        spec = ABExperimentSpec.model_validate(dict(body.get("spec") or {}))
    except ValueError as exc:
        raise kopf.PermanentError(f"spec does not parse: {exc}") from exc
    return ExperimentContext(kube=kube, settings=settings, body=body, namespace=meta["namespace"],
                             name=meta["name"], generation=meta.get("generation"), spec=spec,
                             status=ABExperimentStatus.model_validate(dict(body.get("status") or {})))


def splits_in_kserve(spec: ABExperimentSpec) -> bool:
    """leadscore.api.abexperiment's rule, for this experiment's spec."""
    return abexperiment.splits_in_kserve(spec.assignment, spec.control.version, spec.treatment.version)


def claim_for(spec: ABExperimentSpec) -> ServingClaim:
    """The split this experiment asks its model to serve (fixed once the model serves it)."""
    return ServingClaim(assignment=spec.assignment, control=spec.control.version,
                        treatment=spec.treatment.version, traffic_percent=spec.traffic_percent)


def is_final(status: ABExperimentStatus) -> bool:
    running = c.find_condition(status.conditions, c.RUNNING)
    return running is not None and running.status == c.FALSE and running.reason in c.FINAL_REASONS


def reconcile_experiment(ctx: ExperimentContext, fetch_summary: SummaryFetcher) -> dict[str, Any]:
    """One pass; returns the status patch (only changed fields)."""
    before = ctx.status.model_copy(deep=True)
    if not is_final(ctx.status):
        if ctx.spec.stopped:
            _stop(ctx, fetch_summary)
        else:
            _step(ctx, fetch_summary)
    ctx.status.phase = c.experiment_phase(ctx.status.conditions)
    ctx.status.observed_generation = ctx.generation
    old, new = before.to_wire(), ctx.status.to_wire()
    return {key: new.get(key) for key in old.keys() | new.keys() if old.get(key) != new.get(key)}


def _step(ctx: ExperimentContext, fetch_summary: SummaryFetcher) -> None:
    model = ctx.kube.read_model(ctx.namespace, ctx.spec.model_ref)
    if model is None:
        ctx.status.claim = None
        ctx.condition(c.RUNNING, c.FALSE, c.MODEL_NOT_FOUND,
                      f"LeadScoringModel {ctx.spec.model_ref} not found in namespace {ctx.namespace}")
        return
    model_status = LeadScoringModelStatus.model_validate(model.get("status") or {})
    bound = model_status.experiment
    if bound is not None and bound.name == ctx.name:
        if ctx.status.started is None:
            _started(ctx)
        else:
            _evaluate(ctx, fetch_summary)
        return
    _claim(ctx, model, model_status)


def _claim(ctx: ExperimentContext, model: dict[str, Any], model_status: LeadScoringModelStatus) -> None:
    """State (or withdraw) the claim on the model's traffic; the model's reconciler serves it."""
    model_spec = LeadScoringModelSpec.model_validate(model.get("spec") or {})
    mode = serving_mode(ctx.kube, ctx.settings, ctx.kube.read_isvc(ctx.namespace, ctx.spec.model_ref))
    claim = claim_for(ctx.spec)
    problem = arms_problem(ctx.spec.model_ref, claim, model_spec, model_status, mode)
    if problem is not None:
        ctx.status.claim = None
        ctx.condition(c.RUNNING, c.FALSE, *problem)
        return
    ctx.status.claim = claim
    bound = model_status.experiment
    if bound is not None:
        ctx.condition(c.RUNNING, c.FALSE, c.ANOTHER_EXPERIMENT_RUNNING,
                      f"ABExperiment {bound.name} already splits the traffic of model "
                      f"{ctx.spec.model_ref}; this one starts when it concludes or is deleted")
        return
    ctx.condition(c.RUNNING, c.UNKNOWN, c.TRAFFIC_REQUESTED,
                  f"asked model {ctx.spec.model_ref} for {claim.traffic_percent}% of its leads; "
                  "waiting for its reconciler to serve the split")


def _started(ctx: ExperimentContext) -> None:
    """The model serves this experiment's claim: the split runs from now."""
    ctx.status.started = ctx.now
    ctx.status.control = ArmStatus(version=ctx.spec.control.version)
    ctx.status.treatment = ArmStatus(version=ctx.spec.treatment.version)
    how = "KServe canary split" if splits_in_kserve(ctx.spec) else "predictor hash split"
    message = (f"{ctx.spec.treatment.version} gets {ctx.spec.traffic_percent}% of model {ctx.spec.model_ref}'s "
               f"leads, {ctx.spec.control.version} the rest ({ctx.spec.assignment} assignment, {how})")
    ctx.condition(c.RUNNING, c.TRUE, c.TRAFFIC_SPLIT, message)
    ctx.events.append(Event("Normal", c.TRAFFIC_SPLIT, message))


def _stop(ctx: ExperimentContext, fetch_summary: SummaryFetcher) -> None:
    """spec.stopped: record the results at hand, withdraw the claim (the model gives its traffic back
    when this experiment holds it) and name ``spec.winner``'s version to promote if one is chosen."""
    model = ctx.kube.read_model(ctx.namespace, ctx.spec.model_ref)
    model_status = LeadScoringModelStatus.model_validate((model or {}).get("status") or {})
    holds = model is not None and model_status.experiment is not None and model_status.experiment.name == ctx.name
    winner = winner_version(ctx.spec)
    if holds and _analyse(ctx, fetch_summary) is not None:
        ctx.status.decision = None  # the user ended it: the statistics' verdict is recorded, not applied
    promote = winner if holds and winner != model_status.active_version else None
    ctx.status.claim = None
    ctx.status.winner_version = promote
    ctx.status.concluded = ctx.now
    # a pass racing this one (the timer on a stale body) finds the winner already promoted
    if promote is not None:
        applied = f"winner {ctx.spec.winner} ({winner}) promoted, model {ctx.spec.model_ref} serves it to every lead"
    elif winner is not None and winner == model_status.active_version:
        applied = f"winner {ctx.spec.winner} ({winner}) is the active version and serves every lead"
    elif winner is not None:
        applied = (f"winner {ctx.spec.winner} ({winner}) not promoted: the experiment did not hold model "
                   f"{ctx.spec.model_ref}'s traffic")
    else:
        applied = f"model {ctx.spec.model_ref} serves its active version to every lead again, nothing promoted"
    message = f"stopped by spec.stopped: {applied}"
    ctx.condition(c.RUNNING, c.FALSE, c.STOPPED_BY_USER, message)
    ctx.events.append(Event("Normal", c.STOPPED_BY_USER, message))


def _analyse(ctx: ExperimentContext, fetch_summary: SummaryFetcher) -> ExperimentAnalysis | None:
    """Fetch the collector's summary, analyse it and write the results to status; None (and a
    SummaryUnavailable condition) when the collector cannot answer."""
    started = ctx.status.started or ctx.now
    # KServe's canary leaves the control revision's predictions untagged: count by version instead
    split = ServingSplit(service=ctx.spec.model_ref, control_version=ctx.spec.control.version,
                         treatment_version=ctx.spec.treatment.version, since=started) \
        if splits_in_kserve(ctx.spec) else None
    try:
        summary = fetch_summary(ctx.namespace, ctx.name, split)
    except (httpx.HTTPError, ValueError) as exc:  # unreachable or malformed: the split keeps running
        ctx.condition(c.RUNNING, c.TRUE, c.SUMMARY_UNAVAILABLE, f"collector summary unavailable: {exc}")
        return None
    analysis = decide(summary, ExperimentSettings.from_spec(ctx.spec), elapsed=max(ctx.now - started, timedelta(0)))
    fields = status_fields(analysis)
    fields["control"]["version"] = ctx.spec.control.version
    fields["treatment"]["version"] = ctx.spec.treatment.version
    ctx.status = ABExperimentStatus.model_validate({**ctx.status.to_wire(), **fields,
                                                    "lastEvaluated": ctx.now.isoformat()})
    return analysis


def _evaluate(ctx: ExperimentContext, fetch_summary: SummaryFetcher) -> None:
    analysis = _analyse(ctx, fetch_summary)
    if analysis is None:
        return
    settings = ExperimentSettings.from_spec(ctx.spec)
    if analysis.decision == "continue":
        ctx.condition(c.RUNNING, c.TRUE, c.TRAFFIC_SPLIT, analysis.reason)
        return
    promote = analysis.decision == "promote" and ctx.spec.on_success == "promote" and \
        ctx.spec.treatment.version != RULES
    ctx.status.claim = None  # the model lets the experiment go
    ctx.status.winner_version = ctx.spec.treatment.version if promote else None
    ctx.status.concluded = ctx.now
    srm = analysis.decision == "halted" and analysis.srm_p_value is not None and \
        analysis.srm_p_value < settings.srm_alpha
    metrics.EXPERIMENT_DECISIONS.labels(ctx.namespace, ctx.name, "halted_srm" if srm else analysis.decision).inc()
    if analysis.decision == "halted":
        ctx.condition(c.RUNNING, c.FALSE, c.EXPERIMENT_HALTED, analysis.reason)
        ctx.events.append(Event("Warning", c.EXPERIMENT_HALTED, analysis.reason))
        return
    applied = (f"{ctx.spec.treatment.version} promoted" if promote
               else f"{ctx.spec.control.version} keeps serving")
    message = f"{analysis.decision}: {analysis.reason}; {applied}"
    ctx.condition(c.RUNNING, c.FALSE, c.DECISION_REACHED, message)
    ctx.condition(c.CONCLUDED, c.TRUE, c.DECISION_REACHED, message)
    ctx.events.append(Event("Normal", c.DECISION_REACHED, message))

"""One ABExperiment, reconciled: claim the model, split its traffic, evaluate, decide, release.

The split itself lives in the model's status (``status.experiment``): the InferenceService is
always rendered from the model alone (``builders.plan_serving``), so the model's own reconcile
and this one can never fight over the ISVC, and releasing the claim is all it takes to restore
the control. The claim is a status patch conditioned on the model's ``resourceVersion``: of two
experiments racing for one model, exactly one wins and the other records why it waits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import kopf
from kubernetes.client.exceptions import ApiException

from leadscore.api import abexperiment
from leadscore.api import conditions as c
from leadscore.api.abexperiment import RULES, ABExperimentSpec, ABExperimentStatus, ArmStatus, winner_version
from leadscore.api.leadscoringmodel import ExperimentBinding, LeadScoringModelSpec, LeadScoringModelStatus
from leadscore.api.summary import ExperimentSummary, ServingSplit
from leadscore.experiments.decision import ExperimentAnalysis, decide, status_fields
from leadscore.experiments.settings import ExperimentSettings
from leadscore.operator import metrics
from leadscore.operator.deployment_mode import can_split
from leadscore.operator.kube import Kube
from leadscore.operator.model_reconciler import Event, serve_model, serving_mode
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


def arms_problem(spec: ABExperimentSpec, model: LeadScoringModelSpec,
                 status: LeadScoringModelStatus, mode: str) -> tuple[str, str] | None:
    """(reason, message) when the experiment cannot split this model's traffic now, else None;
    ``mode`` is the KServe deployment mode of the model's InferenceService."""
    if model.serving.pinned_version:
        return c.MODEL_PINNED, (f"model {spec.model_ref} is pinned to {model.serving.pinned_version} "
                                "(spec.serving.pinnedVersion); unpin it to run an experiment")
    available = [v.version for v in status.versions if not v.artifacts_deleted]
    for arm, ref in (("control", spec.control), ("treatment", spec.treatment)):
        if ref.version != RULES and ref.version not in available:
            return c.ARM_VERSION_MISSING, (f"{arm}.version {ref.version} is not a version of model "
                                           f"{spec.model_ref} (available: {', '.join(available) or 'none'})")
    if not splits_in_kserve(spec):
        return None
    if not can_split(mode):
        return c.RANDOM_SPLIT_UNAVAILABLE, (
            f"assignment random of two model versions is KServe's canary split, which KServe does only in "
            f"Knative mode; model {spec.model_ref}'s InferenceService runs in {mode} mode, where the split "
            f"would not happen; use assignment: sticky (the predictor splits the leads in any mode)")
    if spec.control.version != status.active_version:
        return c.CONTROL_NOT_SERVING, (
            f"assignment random splits KServe traffic away from the served version, so control.version "
            f"must be {status.active_version}, got {spec.control.version}; use assignment sticky instead")
    return None


def splits_in_kserve(spec: ABExperimentSpec) -> bool:
    """leadscore.api.abexperiment's rule, for this experiment's spec."""
    return abexperiment.splits_in_kserve(spec.assignment, spec.control.version, spec.treatment.version)


def binding_for(ctx: ExperimentContext) -> ExperimentBinding:
    return ExperimentBinding(name=ctx.name, assignment=ctx.spec.assignment, control=ctx.spec.control.version,
                             treatment=ctx.spec.treatment.version, traffic_percent=ctx.spec.traffic_percent)


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
        ctx.condition(c.RUNNING, c.FALSE, c.MODEL_NOT_FOUND,
                      f"LeadScoringModel {ctx.spec.model_ref} not found in namespace {ctx.namespace}")
        return
    model_status = LeadScoringModelStatus.model_validate(model.get("status") or {})
    bound = model_status.experiment
    if bound is None or bound.name != ctx.name:
        if bound is not None:
            ctx.condition(c.RUNNING, c.FALSE, c.ANOTHER_EXPERIMENT_RUNNING,
                          f"ABExperiment {bound.name} already splits the traffic of model "
                          f"{ctx.spec.model_ref}; this one starts when it concludes or is deleted")
            return
        _start(ctx, model, model_status)
        return
    _evaluate(ctx, model, fetch_summary)


def _stop(ctx: ExperimentContext, fetch_summary: SummaryFetcher) -> None:
    """spec.stopped: record the results at hand, give the model's traffic back (when this experiment
    holds it) and promote ``spec.winner``'s version if one is chosen, else nothing."""
    model = ctx.kube.read_model(ctx.namespace, ctx.spec.model_ref)
    model_status = LeadScoringModelStatus.model_validate((model or {}).get("status") or {})
    holds = model is not None and model_status.experiment is not None and model_status.experiment.name == ctx.name
    winner = winner_version(ctx.spec)
    if holds and _analyse(ctx, fetch_summary) is not None:
        ctx.status.decision = None  # the user ended it: the statistics' verdict is recorded, not applied
    promote = winner if holds and winner != model_status.active_version else None
    if model is not None:
        release(ctx.kube, ctx.settings, model, ctx.name, promote_to=promote)
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


def _start(ctx: ExperimentContext, model: dict[str, Any], model_status: LeadScoringModelStatus) -> None:
    model_spec = LeadScoringModelSpec.model_validate(model.get("spec") or {})
    mode = serving_mode(ctx.kube, ctx.settings, ctx.kube.read_isvc(ctx.namespace, ctx.spec.model_ref))
    problem = arms_problem(ctx.spec, model_spec, model_status, mode)
    if problem is not None:
        ctx.condition(c.RUNNING, c.FALSE, *problem)
        return
    binding = binding_for(ctx)
    try:
        claimed = ctx.kube.patch_model_status(ctx.namespace, ctx.spec.model_ref,
                                              {"experiment": binding.to_wire()},
                                              resource_version=model["metadata"]["resourceVersion"])
    except ApiException as exc:
        if exc.status == 409:
            message = f"model {ctx.spec.model_ref} changed while claiming it"
            raise kopf.TemporaryError(message, delay=1) from exc
        raise
    serve_model(ctx.kube, ctx.settings, claimed)
    ctx.status.started = ctx.status.started or ctx.now
    ctx.status.control = ArmStatus(version=binding.control)
    ctx.status.treatment = ArmStatus(version=binding.treatment)
    how = "KServe canary split" if splits_in_kserve(ctx.spec) else "predictor hash split"
    message = (f"{binding.treatment} gets {binding.traffic_percent}% of model {ctx.spec.model_ref}'s leads, "
               f"{binding.control} the rest ({binding.assignment} assignment, {how})")
    ctx.condition(c.RUNNING, c.TRUE, c.TRAFFIC_SPLIT, message)
    ctx.events.append(Event("Normal", c.TRAFFIC_SPLIT, message))


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


def _evaluate(ctx: ExperimentContext, model: dict[str, Any], fetch_summary: SummaryFetcher) -> None:
    analysis = _analyse(ctx, fetch_summary)
    if analysis is None:
        return
    settings = ExperimentSettings.from_spec(ctx.spec)
    if analysis.decision == "continue":
        ctx.condition(c.RUNNING, c.TRUE, c.TRAFFIC_SPLIT, analysis.reason)
        return
    promote = analysis.decision == "promote" and ctx.spec.on_success == "promote" and \
        ctx.spec.treatment.version != RULES
    winner = ctx.spec.treatment.version if promote else None
    release(ctx.kube, ctx.settings, model, ctx.name, promote_to=winner)
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


def release(kube: Kube, settings: OperatorSettings, model: dict[str, Any], experiment: str,
            promote_to: str | None = None) -> None:
    """Give the model's traffic back (to ``promote_to`` when the treatment won, else the control)."""
    fresh = kube.read_model(model["metadata"]["namespace"], model["metadata"]["name"])
    if fresh is None:
        return
    status = LeadScoringModelStatus.model_validate(fresh.get("status") or {})
    if status.experiment is None or status.experiment.name != experiment:
        return
    patch: dict[str, Any] = {"experiment": None}
    if promote_to is not None:
        # a decided winner is rolled out fully: no previous version left to canary against
        patch |= {"activeVersion": promote_to, "previousVersion": None}
    meta = fresh["metadata"]
    released = kube.patch_model_status(meta["namespace"], meta["name"], patch,
                                       resource_version=meta["resourceVersion"])
    serve_model(kube, settings, released)

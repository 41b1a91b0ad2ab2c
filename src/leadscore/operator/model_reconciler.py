"""One LeadScoringModel, reconciled: training Job, its outcome, the gate, the InferenceService.

Level-triggered: ``reconcile_model`` looks at what exists and moves one step towards the spec,
so the create/update/resume handlers and the polling timer all call the same function and an
operator restarted at any point picks up where it stopped. It mutates a working copy of the
status; the handler patches only the fields that changed, so a pass on an older body (timer vs.
change handler) does not write back fields it did not touch.

This reconciler is the only writer of a LeadScoringModel's status and of its InferenceService.
ABExperiments state what they want on their own status (``leadscore.operator.claims``);
``follow_experiments`` serves a claim and lets it go, promoting the winner the experiment names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf

from leadscore.api import conditions as c
from leadscore.api.artifact import COMMIT_MARKER, artifact_uri
from leadscore.api.leadscoringmodel import (
    ExperimentBinding,
    LeadScoringModelSpec,
    LeadScoringModelStatus,
    ModelVersion,
    TrainingEngine,
    TrainingRun,
)
from leadscore.api.results import TrainingProgress, TrainingResult, progress_uri
from leadscore.errors import StorageError
from leadscore.experiments.settings import parse_duration
from leadscore.operator import metrics
from leadscore.operator.builders import (
    ServingError,
    inference_service_manifest,
    plan_serving,
    ray_job_manifest,
    training_job_manifest,
)
from leadscore.operator.claims import ExperimentIntent, arms_problem, released, waiting
from leadscore.operator.deployment_mode import CONFIG_MAP_NAME, annotated_mode, cluster_default_mode
from leadscore.operator.gate import GATE_METRIC, evaluate_gate
from leadscore.operator.health import Due, Figures, assess, retrain_due
from leadscore.operator.kube import KindMissingError, Kube
from leadscore.operator.mlflow_aliases import sync_quietly
from leadscore.operator.observe import (
    exit_reason,
    observe_isvc,
    one_line,
    parse_result,
    termination_message,
    training_outcome,
)
from leadscore.operator.pod_trouble import UNSCHEDULABLE, pod_trouble
from leadscore.operator.retention import versions_to_delete
from leadscore.operator.settings import OperatorSettings
from leadscore.operator.triggers import latest_tick, training_trigger
from leadscore.operator.versions import (
    RETRAIN_ANNOTATION,
    SPEC_HASH_ANNOTATION,
    TRIGGER_ANNOTATION,
    VERSION_LABEL,
    next_version,
    training_spec_hash,
    version_number,
)
from leadscore.store import artifacts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event to post about the CR (``type`` Normal or Warning)."""

    type: str
    reason: str
    message: str


HealthSource = Callable[[str, str, str, str, datetime, datetime, str], Figures]
"""(namespace, service, version, artifact, drift since, live since, maturity) -> the collector's figures."""


@dataclass
class ModelContext:
    """Everything one reconcile pass needs about one LeadScoringModel."""

    kube: Kube
    settings: OperatorSettings
    body: Any  # kopf.Body or the plain dict read back: owner of the children, target of events
    namespace: str
    name: str
    generation: int | None
    annotations: dict[str, str]
    spec: LeadScoringModelSpec
    status: LeadScoringModelStatus
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    events: list[Event] = field(default_factory=list)
    """Kubernetes Events to post about the CR; the handler posts them after the pass."""
    health_source: HealthSource | None = None
    """Reads drift and live accuracy from the collector; None skips health (create/update handlers)."""
    due: Due | None = None
    """An automatic retraining the health check found due in this pass."""
    experiments: list[ExperimentIntent] | None = None
    """What the model's ABExperiments ask of it (the operator's index); None leaves
    ``status.experiment`` as it is (a caller that does not know them)."""

    def condition(self, type_: str, status: c.ConditionStatus, reason: str, message: str) -> None:
        self.status.conditions = c.parse_conditions(c.set_condition(
            self.status.conditions, type_, status, reason, message, generation=self.generation, now=self.now))


def context_from(kube: Kube, settings: OperatorSettings, body: Any,
                 health_source: HealthSource | None = None,
                 experiments: list[ExperimentIntent] | None = None) -> ModelContext:
    """Parse a CR body with the same models the CRD came from."""
    meta = body["metadata"]
    try:
        spec = LeadScoringModelSpec.model_validate(dict(body.get("spec") or {}))
    except ValueError as exc:  # the CRD admitted it, so code and CRD disagree: never retry
        raise kopf.PermanentError(f"spec does not parse: {exc}") from exc
    return ModelContext(
        kube=kube, settings=settings, body=body, namespace=meta["namespace"], name=meta["name"],
        generation=meta.get("generation"), annotations=dict(meta.get("annotations") or {}),
        spec=spec, status=LeadScoringModelStatus.model_validate(dict(body.get("status") or {})),
        health_source=health_source, experiments=experiments)


def status_patch(before: LeadScoringModelStatus, after: LeadScoringModelStatus) -> dict[str, Any]:
    """Top-level status fields that changed (None deletes one, as merge patches do)."""
    old, new = before.to_wire(), after.to_wire()
    return {key: new.get(key) for key in old.keys() | new.keys() if old.get(key) != new.get(key)}


def reconcile_model(ctx: ModelContext) -> dict[str, Any]:
    """One pass; returns the status patch. Order matters: finish the old training before a new
    one is considered, record a version before serving it."""
    before = ctx.status.model_copy(deep=True)
    adopt_running_job(ctx)
    check_training(ctx)
    check_health(ctx)
    start_training(ctx)
    follow_experiments(ctx)
    ensure_serving(ctx)
    apply_retention(ctx)
    sync_quietly(ctx.settings.mlflow_tracking_uri, ctx.settings.http_timeout_seconds, ctx.namespace, ctx.name,
                 ctx.spec, ctx.status)
    ctx.status.phase = c.model_phase(ctx.status.conditions)
    ctx.status.observed_generation = ctx.generation
    return status_patch(before, ctx.status)


def _kind(engine: TrainingEngine) -> str:
    """How conditions and events name a training's object."""
    return "RayJob" if engine == "ray" else "job"


def adopt_running_job(ctx: ModelContext) -> None:
    """A Job or RayJob we do not know about (operator died between create and status write):
    adopt it. One of a version the status already knows is not one: an older training judged
    while its Job still ran (failed because its pod could not start) stays judged. RayJobs are
    looked for only while the spec asks for Ray (a cluster without KubeRay is never asked)."""
    known = [version_number(v.version) for v in ctx.status.versions]
    if ctx.status.training is not None:
        known.append(version_number(ctx.status.training.version))
    engines: tuple[TrainingEngine, ...] = ("job", "ray") if ctx.spec.training.engine == "ray" else ("job",)
    for engine, job in ctx.kube.unfinished_trainings(ctx.namespace, ctx.name, engines):
        meta = job["metadata"]
        if ctx.status.training is not None and ctx.status.training.job_name == meta["name"]:
            return
        if version_number(meta["labels"][VERSION_LABEL]) <= max(known, default=0):
            continue
        annotations = meta.get("annotations") or {}
        ctx.status.training = TrainingRun(
            version=meta["labels"][VERSION_LABEL], job_name=meta["name"], engine=engine,
            trigger=annotations.get(TRIGGER_ANNOTATION, "adopted"),
            spec_hash=annotations.get(SPEC_HASH_ANNOTATION, ""),
            started=meta.get("creationTimestamp"))
        ctx.status.last_training_job = meta["name"]
        ctx.condition(c.TRAINED, c.UNKNOWN, c.JOB_ADOPTED, f"{_kind(engine)} {meta['name']} is running (adopted)")
        return


def check_health(ctx: ModelContext) -> None:
    """Every ``health_seconds``: read the served version's figures, write ``status.health`` and
    the Healthy condition, and note a retraining that ``spec.retrain`` calls for."""
    status = ctx.status
    served = next((v for v in status.versions if v.version == status.served_version), None)
    if ctx.health_source is None or served is None:
        return
    last = status.health
    if last is not None and last.version == served.version and \
            ctx.now - last.last_evaluated < timedelta(seconds=ctx.settings.health_seconds):
        return
    retrain = ctx.spec.retrain
    drift_window = parse_duration(retrain.drift.window if retrain and retrain.drift else "7d")
    last_started = status.training.started if status.training else None
    live_since = max(t for t in (served.created, last_started) if t is not None) \
        if (served.created or last_started) else ctx.now - timedelta(days=30)
    figures = ctx.health_source(ctx.namespace, ctx.name, served.version, served.artifact_uri,
                                ctx.now - drift_window, live_since, retrain.maturity if retrain else "14d")
    status.health = assess(served, figures, retrain, ctx.now)
    metrics.observe_health(ctx.namespace, ctx.name, status.health)
    due = retrain_due(retrain, served, figures, last_started, ctx.now)
    message = status.health.message
    if due is not None and due.held is not None:
        message += f"; retraining due ({due.trigger}: {due.reason}) but held by the cooldown until " \
                   f"{due.held.isoformat()}"
    healthy = {"OK": c.TRUE, "Watch": c.TRUE, "Unknown": c.UNKNOWN}.get(status.health.summary, c.FALSE)
    reason = c.HEALTH_UNKNOWN if healthy == c.UNKNOWN else c.HEALTH_CHECKED
    ctx.condition(c.HEALTHY, healthy, reason, message)
    ctx.due = due if due is not None and due.held is None else None


def start_training(ctx: ModelContext) -> None:
    if ctx.status.training is not None and not ctx.status.training.finished:
        return
    trigger = training_trigger(ctx.spec, ctx.status, ctx.annotations, ctx.now)
    why = ""
    if trigger is None and ctx.due is not None:
        trigger, why = ctx.due.trigger, f": {ctx.due.reason}"
    if trigger is None:
        return
    engine = ctx.spec.training.engine
    version = next_version(ctx.status)
    spec_hash = training_spec_hash(ctx.spec)
    output = artifact_uri(ctx.settings.artifact_root, ctx.namespace, ctx.name, version)
    serving = next((v for v in ctx.status.versions
                    if v.version == ctx.status.active_version and not v.artifacts_deleted), None)
    build = ray_job_manifest if engine == "ray" else training_job_manifest
    job = build(ctx.namespace, ctx.name, version, output, ctx.spec, ctx.settings,
                champion=serving.artifact_uri if serving else None)
    job["metadata"]["annotations"] = {SPEC_HASH_ANNOTATION: spec_hash, TRIGGER_ANNOTATION: trigger}
    kopf.adopt(job, owner=ctx.body)
    try:
        created = ctx.kube.create_training(job)
    except KindMissingError as exc:  # retried on every pass (KubeRay may be installed later); said once
        text = f"spec.training.engine ray cannot start {version}: {exc}; install KubeRay or use engine job"
        said = any(k.type == c.TRAINED and k.reason == c.ENGINE_UNAVAILABLE for k in ctx.status.conditions)
        ctx.condition(c.TRAINED, c.FALSE, c.ENGINE_UNAVAILABLE, text)
        if not said:
            ctx.events.append(Event("Warning", c.ENGINE_UNAVAILABLE, text))
        return
    name = created["metadata"]["name"]
    ctx.status.training = TrainingRun(version=version, job_name=name, engine=engine, trigger=trigger,
                                      spec_hash=spec_hash, started=ctx.now)
    ctx.status.last_training_job = name
    if trigger == "annotation":
        ctx.status.retrain_request = ctx.annotations.get(RETRAIN_ANNOTATION)
    if trigger == "schedule" and ctx.spec.schedule is not None:
        ctx.status.last_schedule_time = latest_tick(ctx.spec.schedule.cron, ctx.now)
    text = f"{_kind(engine)} {name} trains {version} ({trigger}{why})"
    ctx.condition(c.TRAINED, c.UNKNOWN, c.JOB_STARTED, text)
    ctx.events.append(Event("Normal", c.RETRAIN_TRIGGERED if why else c.JOB_STARTED, text))


def check_training(ctx: ModelContext) -> None:
    run = ctx.status.training
    if run is None or run.finished:
        return
    job = ctx.kube.read_training(ctx.namespace, run.job_name, run.engine)
    outcome = training_outcome(run.engine, job) if job is not None else None
    if outcome is not None and outcome.state == "Running":
        run.stage = _training_stage(ctx, run.version) or run.stage
        run.finished = _pods_cannot_run(ctx, run)
        return
    pods = _pods(ctx, run) if job is not None else []
    message = termination_message(pods)
    result = parse_result(message)
    succeeded = outcome is None or outcome.state == "Succeeded"  # a vanished Job may have published
    if succeeded:
        result = result or _result_from_bucket(ctx, run.version)
    if succeeded and result is not None and result.status == "Succeeded":
        _record_version(ctx, run, result)
    else:
        _record_failure(ctx, run, outcome, result, message)
    run.finished = True


def _pods(ctx: ModelContext, run: TrainingRun) -> list[dict[str, Any]]:
    return ctx.kube.training_pods(ctx.namespace, ctx.name, run.version, run.job_name, run.engine)


def _pods_cannot_run(ctx: ModelContext, run: TrainingRun) -> bool:
    """Show a running Job's pod that cannot start (leadscore.operator.pod_trouble) on Trained, with
    an Event when that news is new; True when the training has failed because of it. The Job is
    left as it is (its pod events stay readable) until its activeDeadlineSeconds or the model goes."""
    trouble = pod_trouble(_pods(ctx, run))
    trained = c.find_condition(ctx.status.conditions, c.TRAINED)
    if trouble is None:
        if trained is not None and trained.reason == UNSCHEDULABLE:  # a node came: back to training
            ctx.condition(c.TRAINED, c.UNKNOWN, c.JOB_STARTED,
                          f"{_kind(run.engine)} {run.job_name} trains {run.version}: scheduled")
        return False
    grace = ctx.settings.training_stall_seconds
    if trouble.kind == "stalled":
        since = datetime.fromisoformat(trouble.since) if trouble.since else ctx.now
        waited = (ctx.now - since).total_seconds()
        if waited < grace:
            text = f"{_kind(run.engine)} {run.job_name} ({run.version}): {trouble.message}; " \
                   f"fails after {grace:g}s unscheduled"
            if trained is None or trained.reason != trouble.reason:
                ctx.events.append(Event("Warning", trouble.reason, text))
            ctx.condition(c.TRAINED, c.UNKNOWN, trouble.reason, text)
            return False
        detail = f"{trouble.message} (for {waited:.0f}s, longer than LEADSCORE_TRAINING_STALL_SECONDS={grace:g})"
    else:
        detail = trouble.message
    metrics.TRAININGS.labels(ctx.namespace, ctx.name, "failed").inc()
    text = f"{_kind(run.engine)} {run.job_name} ({run.version}) cannot run: {detail}"
    current = ctx.status.served_version or ctx.status.active_version
    ctx.condition(c.TRAINED, c.FALSE, trouble.reason, text + (f"; {current} keeps serving" if current else ""))
    ctx.events.append(Event("Warning", trouble.reason, text))
    return True


def _training_stage(ctx: ModelContext, version: str) -> str | None:
    """The stage the trainer last wrote beside the version's directory; None when there is none yet."""
    uri = progress_uri(artifact_uri(ctx.settings.artifact_root, ctx.namespace, ctx.name, version))
    try:
        return TrainingProgress.model_validate_json(artifacts.read_bytes(uri)).stage
    except (StorageError, ValueError):
        return None


def _result_from_bucket(ctx: ModelContext, version: str) -> TrainingResult | None:
    uri = artifacts.join(artifact_uri(ctx.settings.artifact_root, ctx.namespace, ctx.name, version),
                         COMMIT_MARKER)
    try:
        return parse_result(artifacts.read_bytes(uri))
    except StorageError as exc:
        log.info("no result.json for %s/%s %s: %s", ctx.namespace, ctx.name, version, exc)
        return None


def _record_failure(ctx: ModelContext, run: TrainingRun, outcome: Any, result: TrainingResult | None,
                    message: str | None) -> None:
    if result is not None:
        detail = f"{result.reason}: {result.message}" if result.reason else result.message
    elif message:
        detail = one_line(message)
    elif outcome is not None:  # a RayJob's message may end with the driver's log tail: keep its last line
        detail = ": ".join(part for part in (outcome.reason, exit_reason(outcome.message),
                                             one_line(outcome.message)) if part)
    else:
        detail = f"the {_kind(run.engine)} disappeared before it finished and left no result.json"
    kind = _kind(run.engine)
    if result is None and outcome is not None and outcome.state == "Succeeded":
        reason = c.RESULT_UNREADABLE
        text = f"{kind} {run.job_name} succeeded but left no readable result (termination message, result.json)"
    else:
        reason, text = c.JOB_FAILED, f"{kind} {run.job_name} ({run.version}) failed: {detail}"
    metrics.TRAININGS.labels(ctx.namespace, ctx.name, "failed").inc()
    current = ctx.status.served_version or ctx.status.active_version
    serving = f"; {current} keeps serving" if current else ""
    ctx.condition(c.TRAINED, c.FALSE, reason, text + serving)
    ctx.events.append(Event("Warning", reason, text))


def _record_version(ctx: ModelContext, run: TrainingRun, result: TrainingResult) -> None:
    if any(v.version == run.version for v in ctx.status.versions):
        return  # a concurrent pass (timer vs. change handler) on an older body recorded it already
    active = next((v for v in ctx.status.versions if v.version == ctx.status.active_version), None)
    gate = evaluate_gate(run.version, result.metrics, active, ctx.spec.promotion)
    uri = result.artifact_uri or artifact_uri(ctx.settings.artifact_root, ctx.namespace, ctx.name,
                                              run.version)
    ctx.status.versions.append(ModelVersion(
        version=run.version, created=result.created or ctx.now, metrics=result.metrics,
        artifact_uri=uri if uri.endswith("/") else uri + "/", mlflow_run_id=result.mlflow_run_id or None,
        job_name=run.job_name, shipped=result.shipped or None,
        gate="Passed" if gate.passed else "Failed", gate_message=gate.message, trigger=run.trigger,
        tiers=result.tiers))
    ctx.status.latest_version = run.version
    metrics.TRAININGS.labels(ctx.namespace, ctx.name, "succeeded" if gate.passed else "gate_failed").inc()
    if gate.passed and ctx.spec.promotion.auto_rollout:
        ctx.status.previous_version = ctx.status.active_version
        ctx.status.active_version = run.version
    ctx.condition(c.TRAINED, c.TRUE if gate.passed else c.FALSE, gate.reason, gate.message)
    ctx.events.append(Event("Normal" if gate.passed else "Warning", gate.reason, gate.message))


def follow_experiments(ctx: ModelContext) -> None:
    """Let the bound ABExperiment go once it withdrew its claim (promoting the winner it names) or
    was deleted; then serve the oldest claim that can run. Claims only ever come from the index."""
    if ctx.experiments is None:
        return
    status = ctx.status
    ended = released(status.experiment, ctx.experiments)
    if ended is not None:
        status.experiment = None
        winner = ended.winner_version
        if winner is not None and winner != status.active_version:
            # a decided winner is rolled out fully: no previous version left to canary against
            status.active_version, status.previous_version = winner, None
            ctx.events.append(Event("Normal", c.VERSION_PROMOTED,
                                    f"ABExperiment {ended.name} ended: {winner} promoted, it serves every lead"))
        else:
            ctx.events.append(Event("Normal", c.EXPERIMENT_RELEASED, f"ABExperiment {ended.name} ended: "
                                    f"{status.active_version} serves every lead"))
    if status.experiment is not None:
        return
    claims = waiting(ctx.experiments)
    if not claims:
        return
    mode = serving_mode(ctx.kube, ctx.settings, ctx.kube.read_isvc(ctx.namespace, ctx.name))
    for intent in claims:
        assert intent.claim is not None  # waiting() keeps claims only
        if arms_problem(ctx.name, intent.claim, ctx.spec, status, mode) is None:
            status.experiment = ExperimentBinding(name=intent.name, **intent.claim.model_dump())
            ctx.events.append(Event("Normal", c.TRAFFIC_SPLIT, f"ABExperiment {intent.name} splits the traffic: "
                                    f"{intent.claim.treatment} gets {intent.claim.traffic_percent}%, "
                                    f"{intent.claim.control} the rest"))
            return


def ensure_serving(ctx: ModelContext) -> None:
    """Apply the InferenceService of the serving plan (server-side apply: only the fields the
    operator sets are its own; KServe's defaults and other writers' fields stay); mirror what KServe reports."""
    current = ctx.kube.read_isvc(ctx.namespace, ctx.name)
    mode = serving_mode(ctx.kube, ctx.settings, current)
    try:
        plan = plan_serving(ctx.namespace, ctx.spec, ctx.status, mode=mode)
    except ServingError as exc:
        ctx.condition(c.SERVING, c.FALSE, exc.reason, str(exc))
        return
    if plan is None:
        ctx.condition(c.SERVING, c.FALSE, c.NO_VERSION_YET, "no version has passed the gate yet")
        return
    desired = inference_service_manifest(ctx.namespace, ctx.name, ctx.spec, plan, ctx.settings)
    kopf.adopt(desired, owner=ctx.body)
    current = ctx.kube.apply_isvc(desired)
    seen = observe_isvc(current, plan.version, plan.traffic)
    ctx.status.endpoint = seen.url
    ctx.status.serving_ready = seen.ready
    ctx.status.traffic = seen.traffic or plan.traffic
    served = next((v for v in ctx.status.versions if v.version == plan.version), None)
    ctx.status.active_roc_auc = served.metrics.get(GATE_METRIC) if served else None
    ctx.status.served_version = plan.version
    note = f"; {plan.note}" if plan.note else ""
    if seen.ready:
        ctx.condition(c.SERVING, c.TRUE, c.ISVC_READY, f"{plan.version} ready at {seen.url}{note}")
    else:
        ctx.condition(c.SERVING, c.UNKNOWN, c.ISVC_NOT_READY, f"{plan.version}: {seen.message}{note}")


def serving_mode(kube: Kube, settings: OperatorSettings, isvc: dict[str, Any] | None) -> str:
    """The InferenceService's KServe deployment mode: its annotation, else the cluster's default
    (KServe's inferenceservice-config), read only when the annotation is missing."""
    return annotated_mode(isvc) or cluster_default_mode(
        kube.config_map_data(settings.kserve_namespace, CONFIG_MAP_NAME))


def apply_retention(ctx: ModelContext) -> None:
    status = ctx.status
    protected = {status.active_version, status.served_version, status.previous_version,
                 ctx.spec.serving.pinned_version,
                 status.training.version if status.training else None}
    if status.experiment is not None:
        protected |= {status.experiment.control, status.experiment.treatment}
    for version in versions_to_delete(status.versions, ctx.spec.retention.keep_versions,
                                      {p for p in protected if p}):
        try:
            removed = artifacts.delete_tree(version.artifact_uri)
        except StorageError as exc:
            ctx.events.append(Event("Warning", "RetentionFailed", f"{version.version}: {exc}"))
            continue
        version.artifacts_deleted = True
        ctx.events.append(Event(
            "Normal", "ArtifactsDeleted", f"{version.version}: {removed} files under {version.artifact_uri} "
                                          f"deleted (spec.retention.keepVersions={ctx.spec.retention.keep_versions})"))

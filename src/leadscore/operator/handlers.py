"""kopf handlers: each parses the body, calls one reconciler, and patches status. Nothing else.

``kopf run -m leadscore.operator.handlers`` (or ``leadscore operator run``) loads this module.
Every handler has an explicit ``id`` (renaming a function must not re-run it), returns None
(so kopf stores nothing under status), and keeps its progress in ``leadscoring.io/``
annotations. Create, update and resume all run the same level-triggered reconcile, and a
timer runs it again: a missed event or a restart only delays work, never loses it.

One writer per object: the model's handlers alone write a LeadScoringModel's status and its
InferenceService; the experiment's handlers write only their ABExperiment's status, whose claim
and winner reach the model through the ``experiment_claims`` index (docs/operator.md).
"""

from __future__ import annotations

import functools
from typing import Any

import kopf

from leadscore.api.crd import AB_EXPERIMENT, LEAD_SCORING_MODEL, VERSION
from leadscore.api.leadscoringmodel import LeadScoringModelStatus
from leadscore.api.wire import GROUP
from leadscore.operator import experiment_reconciler, metrics, model_reconciler
from leadscore.operator.claims import ExperimentIntent, intent_of, out_of_step
from leadscore.operator.collector_client import fetch_summary, read_figures
from leadscore.operator.kube import Kube, load_api_client
from leadscore.operator.settings import OperatorSettings

ANNOTATION_PREFIX = GROUP
INTERVALS = OperatorSettings.from_env()
"""Read at import: kopf fixes timer intervals when the decorators run."""

LSM = (GROUP, VERSION, LEAD_SCORING_MODEL.plural)
ABX = (GROUP, VERSION, AB_EXPERIMENT.plural)


def post(body: kopf.Body, events: list[model_reconciler.Event]) -> None:
    for event in events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message)


@kopf.on.login(id="login")
def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """The Pod's ServiceAccount in a cluster, else $KUBECONFIG as it is when the operator starts
    (kopf's client-library login reads a path the library fixed at import time)."""
    return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """Progress and diff-base in our own annotations; one API client and settings per run."""
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration")
    settings.persistence.finalizer = f"{ANNOTATION_PREFIX}/finalizer"
    settings.posting.level = 20  # logging.INFO: our Normal events reach `kubectl describe`
    settings.watching.server_timeout = 120
    memo.settings = OperatorSettings.from_env()
    memo.kube = Kube(load_api_client())
    memo.fetch_summary = functools.partial(fetch_summary, memo.settings)
    memo.read_figures = functools.partial(read_figures, memo.settings)
    memo.metrics_server = None
    if memo.settings.metrics_port:
        from prometheus_client import start_http_server

        memo.metrics_server, _thread = start_http_server(memo.settings.metrics_port)


@kopf.on.cleanup()
def stop_metrics(memo: kopf.Memo, **_: Any) -> None:
    if getattr(memo, "metrics_server", None) is not None:
        memo.metrics_server.shutdown()
        memo.metrics_server.server_close()


# Indexes: what each side reads of the other, kept in memory from kopf's watch ----------------

@kopf.index(*ABX, id="experiment_claims")
def experiment_claims(body: kopf.Body, meta: kopf.Meta, spec: kopf.Spec, status: kopf.Status,
                      **_: Any) -> dict[tuple[str, str], ExperimentIntent]:
    """Each ABExperiment's claim and winner, under the model it names: the model's handlers read
    these (the experiment's handlers never write the model)."""
    return {(body.metadata.namespace or "", str(spec.get("modelRef"))): intent_of(meta, status)}


@kopf.index(*LSM, id="model_holders")
def model_holders(body: kopf.Body, status: kopf.Status, **_: Any) -> dict[tuple[str, str], str]:
    """Which ABExperiment each model serves (its status.experiment), for the experiments' timer."""
    bound = status.get("experiment") or {}
    return {(body.metadata.namespace or "", body.metadata.name or ""): str(bound.get("name") or "")}


def _index(kwargs: dict[str, Any], index_id: str, key: tuple[str, str]) -> list[Any]:
    """The values under ``key`` of the index kopf passes as the ``index_id`` keyword."""
    return list(kwargs[index_id].get(key, []))


def _model_key(body: kopf.Body) -> tuple[str, str]:
    return body.metadata.namespace or "", body.metadata.name or ""


# LeadScoringModel ---------------------------------------------------------------------------

def _reconcile_model(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, experiments: list[ExperimentIntent],
                     health_source: model_reconciler.HealthSource | None = None) -> None:
    ctx = model_reconciler.context_from(memo.kube, memo.settings, body, health_source=health_source,
                                        experiments=experiments)
    with metrics.RECONCILE_SECONDS.labels("LeadScoringModel").time():
        patch.status.update(model_reconciler.reconcile_model(ctx))
    post(body, ctx.events)


@kopf.on.resume(*LSM, id="reconcile")
@kopf.on.create(*LSM, id="reconcile")
@kopf.on.update(*LSM, id="reconcile")
def reconcile_model(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **kwargs: Any) -> None:
    _reconcile_model(body, patch, memo, _index(kwargs, "experiment_claims", _model_key(body)))


@kopf.timer(*LSM, id="poll", interval=INTERVALS.poll_seconds, initial_delay=INTERVALS.poll_seconds)
def poll_model(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **kwargs: Any) -> None:
    """Job progress, schedules, ISVC readiness: things that change without touching the CR; and,
    every ``health_seconds``, the served version's health and the automatic retrain triggers."""
    _reconcile_model(body, patch, memo, _index(kwargs, "experiment_claims", _model_key(body)),
                     health_source=memo.read_figures)


@kopf.timer(*LSM, id="follow-experiments", interval=INTERVALS.claim_seconds)
def follow_experiments(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, status: kopf.Status,
                       **kwargs: Any) -> None:
    """Serve a new claim, or let an ended experiment go, within ``claim_seconds``: an in-memory
    comparison on every tick, a reconcile only when claims and status.experiment disagree."""
    intents = _index(kwargs, "experiment_claims", _model_key(body))
    if out_of_step(LeadScoringModelStatus.model_validate(dict(status)).experiment, intents):
        _reconcile_model(body, patch, memo, intents)


# ABExperiment -------------------------------------------------------------------------------

def _reconcile_experiment(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo) -> None:
    ctx = experiment_reconciler.context_from(memo.kube, memo.settings, body)
    with metrics.RECONCILE_SECONDS.labels("ABExperiment").time():
        patch.status.update(experiment_reconciler.reconcile_experiment(ctx, memo.fetch_summary))
    post(body, ctx.events)


@kopf.on.resume(*ABX, id="reconcile")
@kopf.on.create(*ABX, id="reconcile")
@kopf.on.update(*ABX, id="reconcile")
def reconcile_experiment(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    _reconcile_experiment(body, patch, memo)


@kopf.timer(*ABX, id="evaluate", interval=INTERVALS.experiment_seconds,
            initial_delay=INTERVALS.experiment_seconds)
def evaluate_experiment(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
    """Read the collector's summary, compute the statistics, decide."""
    _reconcile_experiment(body, patch, memo)


@kopf.timer(*ABX, id="follow-model", interval=INTERVALS.claim_seconds)
def follow_model(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, spec: kopf.Spec, status: kopf.Status,
                 **kwargs: Any) -> None:
    """Start within ``claim_seconds`` of the model serving this experiment's claim, not at the
    next evaluation."""
    holders = _index(kwargs, "model_holders", (body.metadata.namespace or "", str(spec.get("modelRef"))))
    if body.metadata.name in holders and not status.get("started"):
        _reconcile_experiment(body, patch, memo)

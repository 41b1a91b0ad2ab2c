"""The collector's HTTP API (FastAPI): thin handlers over parsing, the store and the summary.

Bodies are read raw and validated by our own pydantic models rather than FastAPI's, for two
reasons: CloudEvents carry their attributes in headers and the body's shape depends on
``ce-type``; and every refusal must be a 400 with one line naming the field (FastAPI's
default is a 422 with a nested list).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.concurrency import run_in_threadpool

from leadscore import __version__
from leadscore.api.health import DEFAULT_MATURITY, DriftWindow, LivePerformance
from leadscore.api.summary import ExperimentSummary, ServingSplit
from leadscore.collector.cloudevents import parse_context
from leadscore.collector.drift import drift_window
from leadscore.collector.errors import invalid
from leadscore.collector.ingest import record_event, record_outcomes
from leadscore.collector.leads import LeadHistory, lead_history
from leadscore.collector.outcomes import MAX_BATCH, OutcomeIn, parse_outcomes
from leadscore.collector.performance import live_performance
from leadscore.collector.summary import experiment_summary
from leadscore.errors import InsufficientDataError, StorageError, ValidationError
from leadscore.experiments.settings import parse_duration
from leadscore.monitoring.drift import DriftThresholds
from leadscore.store.events import EventStore

MAX_BODY_BYTES = 16 * 1024 * 1024
_STRUCTURED = "application/cloudevents"


class _Metrics:
    """Counters on a registry of the app's own, so several apps (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter(
            "leadscore_collector_events",
            "Logged inference events accepted, by type.",
            ["type"],
            registry=self.registry,
        )
        self.predictions = Counter(
            "leadscore_collector_predictions_stored", "Prediction records created.", registry=self.registry
        )
        self.outcomes = Counter(
            "leadscore_collector_outcomes",
            "Outcomes received, by result.",
            ["result"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "leadscore_collector_rejected",
            "Payloads refused with 400, by endpoint.",
            ["endpoint"],
            registry=self.registry,
        )
        # Health gauges: set each time a report is computed (the operator asks on its timer).
        model = ["namespace", "service", "version"]
        self.field_psi = Gauge("leadscore_drift_psi", "PSI of an input field against the training reference.",
                               [*model, "field"], registry=self.registry)
        self.score_psi = Gauge("leadscore_drift_score_psi", "PSI of the score against the training reference.",
                               model, registry=self.registry)
        self.drifted = Gauge("leadscore_drift_fields_drifted", "Input fields flagged as drifted.", model,
                             registry=self.registry)
        self.auc = Gauge("leadscore_live_roc_auc", "Live ROC-AUC of matured leads, with its 95 % bounds.",
                         [*model, "bound"], registry=self.registry)
        self.brier = Gauge("leadscore_live_brier", "Live Brier score of matured leads.", model, registry=self.registry)
        self.tier_rate = Gauge("leadscore_live_tier_conversion_rate", "Conversion rate of matured leads per tier.",
                               [*model, "tier"], registry=self.registry)
        self.lift = Gauge("leadscore_live_top_tier_lift", "Top tier's conversion rate / every lead's rate.", model,
                          registry=self.registry)
        self.revenue = Gauge("leadscore_live_revenue_per_lead", "Outcome value per matured lead.", model,
                             registry=self.registry)
        self.matured = Gauge("leadscore_live_matured_leads", "Matured leads behind the live figures.", model,
                             registry=self.registry)

    def observe_drift(self, window: DriftWindow) -> None:
        labels = (window.namespace, window.service, window.model_version)
        for field in window.fields:
            self.field_psi.labels(*labels, field.name).set(field.psi)
        self.score_psi.labels(*labels).set(window.score_psi)
        self.drifted.labels(*labels).set(len(window.drifted))

    def observe_performance(self, live: LivePerformance) -> None:
        labels = (live.namespace, live.service, live.model_version)
        self.matured.labels(*labels).set(live.leads)
        if live.roc_auc:
            for bound in ("value", "lower", "upper"):
                self.auc.labels(*labels, bound).set(getattr(live.roc_auc, bound))
        if live.brier:
            self.brier.labels(*labels).set(live.brier.value)
        for tier in live.tiers:
            self.tier_rate.labels(*labels, tier.tier).set(tier.rate)
        if live.top_tier_lift:
            self.lift.labels(*labels).set(live.top_tier_lift.value)
        if live.revenue_per_lead:
            self.revenue.labels(*labels).set(live.revenue_per_lead.value)


def _outcomes_openapi() -> dict[str, Any]:
    """The request body in /docs: parsed by hand (see the module docstring), documented all the same."""
    outcome = OutcomeIn.model_json_schema()
    batch = {"type": "array", "items": outcome, "maxItems": MAX_BATCH}
    wrapped = {"type": "object", "properties": {"outcomes": batch}, "required": ["outcomes"]}
    schema = {"oneOf": [outcome, batch, wrapped]}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_OUTCOMES_OPENAPI = _outcomes_openapi()


async def _body(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ValidationError(f"body: {len(body)} bytes is more than the {MAX_BODY_BYTES} accepted")
    if not body:
        raise ValidationError("body: empty")
    return body


def _utc(moment: datetime) -> datetime:
    """A query timestamp without a zone is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def create_app(store: EventStore) -> FastAPI:
    """The collector on an open store (migrated: see ``leadscore.store.events.open_store``)."""
    app = FastAPI(title="leadscore collector", version=__version__)
    metrics = _Metrics()
    # Request counts and latency per route template and status class, on the app's own registry
    # (http_requests_total, http_request_duration_seconds, ...): the PrometheusRule's error rate
    # and p99 alerts read them.
    Instrumentator(registry=metrics.registry, excluded_handlers=["/metrics", "/healthz"]).instrument(
        app, metric_namespace="leadscore", metric_subsystem="collector")

    @app.exception_handler(ValidationError)
    async def _invalid(request: Request, exc: ValidationError) -> JSONResponse:
        metrics.rejected.labels(getattr(request.scope.get("route"), "path", "unknown")).inc()
        return JSONResponse(status_code=400, content={"error": str(exc), "reason": exc.reason})

    @app.exception_handler(RequestValidationError)
    async def _invalid_params(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return JSONResponse(status_code=400, content={"error": f"{where}: {first['msg']}", "reason": "InvalidInput"})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/events")
    async def post_event(request: Request) -> dict[str, Any]:
        """One KServe inference-logger CloudEvent in binary mode (request or response half)."""
        if request.headers.get("content-type", "").startswith(_STRUCTURED):
            raise ValidationError(
                f"content-type: {_STRUCTURED} (structured mode) is not accepted; "
                "send binary mode, with the attributes in ce-* headers, as KServe's logger does"
            )
        context = parse_context(request.headers)
        body = await _body(request)
        result = await run_in_threadpool(record_event, store, context, body)
        metrics.events.labels(result.kind).inc()
        metrics.predictions.inc(result.predictions_stored)
        return {
            "id": result.event_id,
            "kind": result.kind,
            "predictions_stored": result.predictions_stored,
            "features_attached": result.features_attached,
            "duplicate": result.duplicate,
        }

    # KServe's examples point ``logger.url`` at a service's root; accept that spelling too.
    app.add_api_route("/", post_event, methods=["POST"], include_in_schema=False)

    @app.post("/v1/outcomes", openapi_extra=_OUTCOMES_OPENAPI)
    async def post_outcomes(request: Request) -> dict[str, int]:
        """One outcome, a list of outcomes, or ``{"outcomes": [...]}``; all stored or none."""
        body = await _body(request)
        try:
            document = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValidationError(f"body: not valid JSON ({exc})") from exc
        outcomes = parse_outcomes(document)
        result = await run_in_threadpool(record_outcomes, store, outcomes)
        metrics.outcomes.labels("stored").inc(result.stored)
        metrics.outcomes.labels("duplicate").inc(result.duplicates)
        return {"received": result.received, "stored": result.stored, "duplicates": result.duplicates}

    @app.get("/v1/experiments/{namespace}/{name}/summary", response_model=ExperimentSummary)
    def get_summary(
        namespace: str,
        name: str,
        service: str | None = None,
        control_version: str | None = None,
        treatment_version: str | None = None,
        since: str | None = None,
    ) -> ExperimentSummary:
        """Per-arm exposures, conversions and value sums (rules in ``leadscore.collector.summary``).

        ``service``, ``control_version``, ``treatment_version`` and ``since`` (all or none) count
        a random KServe canary split by inference service and model version
        (``leadscore.api.summary.ServingSplit``) instead of by experiment tags.
        """
        given = {"service": service, "control_version": control_version,
                 "treatment_version": treatment_version, "since": since}
        split = None
        if any(v is not None for v in given.values()):
            try:
                split = ServingSplit.model_validate({k: v for k, v in given.items() if v is not None})
            except pydantic.ValidationError as exc:
                raise invalid(exc, prefix="query") from exc
        return experiment_summary(store, namespace, name, split=split)

    @app.get("/v1/models/{namespace}/{service}/drift", response_model=DriftWindow)
    def get_drift(
        namespace: str,
        service: str,
        version: str = Query(..., min_length=1, description="Model version whose predictions are compared."),
        model: str = Query(..., min_length=1, description="That version's artifact (directory or s3:// prefix)."),
        since: datetime | None = Query(None, description="Window start (default: `until` minus 7 days)."),
        until: datetime | None = Query(None, description="Window end, exclusive (default: now)."),
        min_rows: int = Query(DriftThresholds().min_rows, ge=1, description="Fewest predictions judged."),
    ) -> DriftWindow | JSONResponse:
        """PSI and p-value per input field and the score's PSI for one version's served leads in a
        window (``leadscore.monitoring.drift``); 422 below ``min_rows``, 404 without a reference profile."""
        end = _utc(until) if until else datetime.now(UTC)
        start = _utc(since) if since else end - timedelta(days=7)
        if start >= end:
            raise ValidationError(f"since: {start.isoformat()} is not before until ({end.isoformat()})")
        try:
            window = drift_window(store, namespace, service, version, model, start, end,
                                  DriftThresholds(min_rows=min_rows))
        except InsufficientDataError as exc:
            return JSONResponse(status_code=422, content={"error": str(exc), "reason": exc.reason})
        except StorageError as exc:
            return JSONResponse(status_code=404, content={"error": f"model: {exc}", "reason": exc.reason})
        metrics.observe_drift(window)
        return window

    @app.get("/v1/models/{namespace}/{service}/performance", response_model=LivePerformance)
    def get_performance(
        namespace: str,
        service: str,
        version: str = Query(..., min_length=1, description="Model version whose leads are judged."),
        since: datetime | None = Query(None, description="First scores from (default: `until` minus 30 days)."),
        until: datetime | None = Query(None, description="First scores before (default now; never later than "
                                                         "now minus `maturity`)."),
        maturity: str = Query(DEFAULT_MATURITY, description="Time a lead is given to convert, e.g. 14d."),
    ) -> LivePerformance:
        """Live ROC-AUC, Brier, calibration by decile, conversion by tier, top-tier lift, revenue per lead and
        time to conversion of one version's matured leads (``leadscore.collector.performance``)."""
        try:
            delay = parse_duration(maturity)
        except ValueError as exc:
            raise ValidationError(f"maturity: {exc}") from exc
        now = datetime.now(UTC)
        end = _utc(until) if until else now
        start = _utc(since) if since else min(end, now - delay) - timedelta(days=30)
        if start >= end:
            raise ValidationError(f"since: {start.isoformat()} is not before until ({end.isoformat()})")
        # no lead of a window younger than the delay has matured yet: an empty report, not an error
        live = live_performance(store, namespace, service, version, start, end, delay, now)
        metrics.observe_performance(live)
        return live

    @app.get("/v1/leads/{lead_id}", response_model=LeadHistory)
    def get_lead(lead_id: str, limit: int = Query(50, ge=1, le=1000)) -> LeadHistory | JSONResponse:
        """One lead's predictions (newest first, at most ``limit``) and outcomes; 404 when unknown."""
        history = lead_history(store, lead_id, limit)
        if history is None:
            return JSONResponse(status_code=404, content={
                "error": f"lead_id {lead_id!r}: no prediction or outcome recorded", "reason": "NotFound"})
        return history

    return app

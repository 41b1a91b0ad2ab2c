"""The collector's HTTP API (FastAPI): thin handlers over parsing, the store and the summary.

Bodies are read raw and validated by our own pydantic models rather than FastAPI's, for two
reasons: CloudEvents carry their attributes in headers and the body's shape depends on
``ce-type``; and every refusal must be a 400 with one line naming the field (FastAPI's
default is a 422 with a nested list).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pydantic
from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.concurrency import run_in_threadpool

from leadscore import __version__
from leadscore.api.health import DEFAULT_MATURITY, DriftWindow, LivePerformance
from leadscore.api.summary import ExperimentSummary, ServingSplit, TierSummary
from leadscore.auth.ratelimit import RateLimitedError
from leadscore.collector.auth import (
    POST_OUTCOMES,
    READ_EXPERIMENTS,
    READ_LEADS,
    READ_MODELS,
    AccessDeniedError,
    Gate,
    Right,
)
from leadscore.collector.cloudevents import forwarded_headers, parse_event
from leadscore.collector.drift import drift_window
from leadscore.collector.errors import invalid
from leadscore.collector.feedback import (
    ANALYTICS_PATH,
    FEEDBACK_PATH,
    IMPLICIT_PATH,
    FeedbackAnalytics,
    FeedbackIn,
    SessionIn,
    feedback_analytics,
    parse_feedback,
    parse_session,
)
from leadscore.collector.ingest import (
    OutcomeResult,
    record_event,
    record_feedback,
    record_outcomes,
    record_session,
)
from leadscore.collector.leads import LeadHistory, lead_history
from leadscore.collector.outcomes import (
    LEAD_PATH,
    MAX_BATCH,
    OUTCOMES_PATH,
    OutcomeConflictError,
    OutcomeIn,
    parse_outcomes,
)
from leadscore.collector.payloads import load_json
from leadscore.collector.performance import live_performance
from leadscore.collector.privacy import Privacy
from leadscore.collector.summary import experiment_summary
from leadscore.collector.tiers import tier_summary
from leadscore.errors import InsufficientDataError, InvalidInputError, StorageError, one_line
from leadscore.experiments.settings import parse_duration
from leadscore.monitoring.drift import DriftThresholds
from leadscore.store.events import EventStore
from leadscore.tracing import logged_trace_context

MAX_BODY_BYTES = 16 * 1024 * 1024
NamespaceName = Annotated[str, Path(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63,
                                    description="A Kubernetes namespace name (a DNS label).")]


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
        self.mismatched = Counter(
            "leadscore_collector_features_mismatched",
            "Scored leads whose request half held no instance with their lead id (stored without features).",
            registry=self.registry,
        )
        self.outcomes = Counter(
            "leadscore_collector_outcomes",
            "Outcomes received, by result.",
            ["result"],
            registry=self.registry,
        )
        self.feedback = Counter(
            "leadscore_collector_feedback",
            "Feedback rows received (explicit reports and implicit interactions), by source and result.",
            ["source", "result"],
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
        self.out_of_range = Gauge("leadscore_drift_out_of_range",
                                  "Share of an input field's leads beyond the training range (scored clipped).",
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
            if field.out_of_range is not None:
                self.out_of_range.labels(*labels, field.name).set(field.out_of_range)
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


def _feedback_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """The explicit and implicit feedback bodies in /docs (parsed by hand, as outcomes are)."""
    report = FeedbackIn.model_json_schema()
    batch = {"type": "array", "items": report, "maxItems": MAX_BATCH}
    wrapped = {"type": "object", "properties": {"feedback": batch}, "required": ["feedback"]}

    def body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}

    return body({"oneOf": [report, batch, wrapped]}), body(SessionIn.model_json_schema())


_FEEDBACK_OPENAPI, _IMPLICIT_OPENAPI = _feedback_openapi()


class BodyTooLargeError(InvalidInputError):
    """A body over ``MAX_BODY_BYTES`` (HTTP 413), refused before it is read whole."""

    reason = "BodyTooLarge"


async def _body(request: Request) -> bytes:
    """The body, refused as soon as its declared or streamed size passes ``MAX_BODY_BYTES``."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise BodyTooLargeError(f"body: {declared[:20]} bytes is more than the {MAX_BODY_BYTES} accepted")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLargeError(f"body: more than the {MAX_BODY_BYTES} bytes accepted")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        raise InvalidInputError("body: empty")
    return body


def _utc(moment: datetime) -> datetime:
    """A query timestamp without a zone is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_tracer = trace.get_tracer("leadscore.collector")
"""A no-op until leadscore.tracing.configure_tracing installs the SDK (OTEL_* variables)."""


def _link_to_current_span() -> list[trace.Link]:
    """A link to the HTTP request's own span: the event's span continues the CRM's trace instead."""
    current = trace.get_current_span().get_span_context()
    return [trace.Link(current)] if current.is_valid else []


def create_app(store: EventStore, privacy: Privacy | None = None, gate: Gate | None = None) -> FastAPI:
    """The collector on an open store (migrated: see ``leadscore.store.events.open_store``),
    dropping or hashing personal fields by ``privacy``'s rules; CRM endpoints go through
    ``gate`` (bearer tokens, per-namespace rights, a rate limit) when given."""
    app = FastAPI(title="leadscore collector", version=__version__)
    metrics = _Metrics()

    def _counted(source: str, result: OutcomeResult) -> dict[str, int]:
        """Feedback stored and resent, counted by source (explicit or implicit); the receipt."""
        metrics.feedback.labels(source, "stored").inc(result.stored)
        metrics.feedback.labels(source, "duplicate").inc(result.duplicates)
        return result.receipt()
    gate = gate or Gate()
    # Request counts and latency per route template and status class, on the app's own registry
    # (http_requests_total, http_request_duration_seconds, ...): the PrometheusRule's error rate
    # and p99 alerts read them.
    Instrumentator(registry=metrics.registry, excluded_handlers=["/metrics", "/healthz"]).instrument(
        app, metric_namespace="leadscore", metric_subsystem="collector")

    async def admit(request: Request, right: Right, namespace: str) -> None:
        """A CRM request: its token, its right, its rate."""
        address = request.client.host if request.client else "unknown"
        await run_in_threadpool(gate.admit, request.headers.get("authorization"), right, namespace, address)

    def check(request: Request, right: Right, namespace: str) -> None:
        """A summary read (the operator, a console): its token and its right (the handler runs in a thread)."""
        gate.check(request.headers.get("authorization"), right, namespace)

    @app.exception_handler(AccessDeniedError)
    async def _denied(_: Request, exc: AccessDeniedError) -> JSONResponse:
        unauthorized = exc.status == 401
        return JSONResponse(status_code=exc.status,
                            content={"error": str(exc), "reason": "Unauthorized" if unauthorized else "Forbidden"},
                            headers={"WWW-Authenticate": "Bearer"} if unauthorized else None)

    @app.exception_handler(RateLimitedError)
    async def _limited(_: Request, exc: RateLimitedError) -> JSONResponse:
        return JSONResponse(status_code=429, content={"error": str(exc), "reason": "TooManyRequests"},
                            headers={"Retry-After": str(max(1, math.ceil(exc.retry_after)))})

    @app.exception_handler(InvalidInputError)
    async def _invalid(request: Request, exc: InvalidInputError) -> JSONResponse:
        metrics.rejected.labels(getattr(request.scope.get("route"), "path", "unknown")).inc()
        status = 409 if isinstance(exc, OutcomeConflictError) else 413 if isinstance(exc, BodyTooLargeError) else 400
        return JSONResponse(status_code=status, content={"error": str(exc), "reason": exc.reason})

    @app.exception_handler(RequestValidationError)
    async def _invalid_params(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"error": one_line(exc), "reason": InvalidInputError.reason})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/events")
    async def post_event(request: Request) -> dict[str, Any]:
        """One KServe inference-logger CloudEvent (request or response half), in binary mode as
        KServe's logger sends it, or structured (``application/cloudevents+json``)."""
        context, body = parse_event(request.headers, await _body(request))
        with _tracer.start_as_current_span(
            "record inference event",
            context=logged_trace_context(forwarded_headers(context)),  # the CRM's trace, when forwarded
            links=_link_to_current_span(),
            attributes={"cloudevents.event_id": context.id, "cloudevents.event_type": context.type,
                        "leadscore.inference_service": context.inferenceservicename,
                        "leadscore.namespace": context.namespace},
        ):
            result = await run_in_threadpool(record_event, store, context, body, None, privacy)
        metrics.events.labels(result.kind).inc()
        metrics.predictions.inc(result.predictions_stored)
        metrics.mismatched.inc(result.features_mismatched)
        return {
            "id": result.event_id,
            "kind": result.kind,
            "predictions_stored": result.predictions_stored,
            "features_attached": result.features_attached,
            "duplicate": result.duplicate,
            "features_mismatched": result.features_mismatched,
        }

    # KServe's examples point ``logger.url`` at a service's root; accept that spelling too.
    app.add_api_route("/", post_event, methods=["POST"], include_in_schema=False)

    @app.post(OUTCOMES_PATH, openapi_extra=_OUTCOMES_OPENAPI)
    async def post_outcomes(namespace: NamespaceName, request: Request) -> dict[str, int]:
        """One outcome, a list of outcomes, or ``{"outcomes": [...]}`` of leads scored in
        ``namespace``; all stored or none."""
        await admit(request, POST_OUTCOMES, namespace)
        outcomes = parse_outcomes(load_json(await _body(request)))
        result = await run_in_threadpool(record_outcomes, store, namespace, outcomes)
        metrics.outcomes.labels("stored").inc(result.stored)
        metrics.outcomes.labels("duplicate").inc(result.duplicates)
        return result.receipt()

    @app.post(FEEDBACK_PATH, openapi_extra=_FEEDBACK_OPENAPI)
    async def post_feedback(namespace: NamespaceName, request: Request) -> dict[str, int]:
        """One explicit feedback report, a list, or ``{"feedback": [...]}`` about leads scored in
        ``namespace``; all stored or none (rules in ``leadscore.collector.feedback``)."""
        await admit(request, POST_OUTCOMES, namespace)
        reports = parse_feedback(load_json(await _body(request)))
        return _counted("explicit", await run_in_threadpool(record_feedback, store, namespace, reports))

    @app.post(IMPLICIT_PATH, openapi_extra=_IMPLICIT_OPENAPI)
    async def post_implicit(namespace: NamespaceName, request: Request) -> dict[str, int]:
        """One session's implicit interactions (``{session_id, occurred_at, interactions: [{lead_id,
        type, duration}]}``); all stored or none."""
        await admit(request, POST_OUTCOMES, namespace)
        session = parse_session(load_json(await _body(request)))
        return _counted("implicit", await run_in_threadpool(record_session, store, namespace, session))

    @app.get(ANALYTICS_PATH, response_model=FeedbackAnalytics)
    async def get_feedback_analytics(
        request: Request, namespace: NamespaceName,
        days: int = Query(30, ge=1, le=3650, description="The window: feedback of the last `days` days."),
        model: str | None = Query(None, min_length=1, max_length=253,
                                  description="One model's feedback (and the namespace's that names none)."),
    ) -> FeedbackAnalytics:
        """Counts by action type, source and day, contact success, mean rating and the feedback
        confidence of the last ``days`` days (``leadscore.collector.feedback``)."""
        await admit(request, READ_LEADS, namespace)
        until = datetime.now(UTC)
        return await run_in_threadpool(feedback_analytics, store, namespace, model, until - timedelta(days=days),
                                       until)

    @app.post("/v1/outcomes", include_in_schema=False)
    async def outcomes_without_namespace() -> None:
        raise InvalidInputError(
            f"namespace: required; post outcomes to {OUTCOMES_PATH}, naming the "
            "namespace of the models that scored the leads (lead ids of two namespaces never mix)")

    @app.get("/v1/experiments/{namespace}/{name}/summary", response_model=ExperimentSummary)
    def get_summary(
        request: Request,
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
        check(request, READ_EXPERIMENTS, namespace)
        given = {"service": service, "control_version": control_version,
                 "treatment_version": treatment_version, "since": since}
        split = None
        if any(v is not None for v in given.values()):
            try:
                split = ServingSplit.model_validate({k: v for k, v in given.items() if v is not None})
            except pydantic.ValidationError as exc:
                raise invalid(exc, prefix="query") from exc
        return experiment_summary(store, namespace, name, split=split)

    @app.get("/v1/models/{namespace}/{service}/tiers", response_model=TierSummary)
    def get_tiers(request: Request, namespace: str, service: str,
                  days: int = Query(30, ge=1, le=3650)) -> TierSummary:
        """Leads per tier that ``service`` scored in the last ``days`` days, their conversions, and
        their first contacts against the tier's SLA (rules in ``leadscore.collector.tiers``)."""
        check(request, READ_MODELS, namespace)
        now = datetime.now(UTC)
        return tier_summary(store, namespace, service, now - timedelta(days=days), now)

    @app.get("/v1/models/{namespace}/{service}/drift", response_model=DriftWindow)
    def get_drift(
        request: Request,
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
        check(request, READ_MODELS, namespace)
        end = _utc(until) if until else datetime.now(UTC)
        start = _utc(since) if since else end - timedelta(days=7)
        if start >= end:
            raise InvalidInputError(f"since: {start.isoformat()} is not before until ({end.isoformat()})")
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
        request: Request,
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
        check(request, READ_MODELS, namespace)
        try:
            delay = parse_duration(maturity)
        except ValueError as exc:
            raise InvalidInputError(f"maturity: {exc}") from exc
        now = datetime.now(UTC)
        end = _utc(until) if until else now
        start = _utc(since) if since else min(end, now - delay) - timedelta(days=30)
        if start >= end:
            raise InvalidInputError(f"since: {start.isoformat()} is not before until ({end.isoformat()})")
        # no lead of a window younger than the delay has matured yet: an empty report, not an error
        live = live_performance(store, namespace, service, version, start, end, delay, now)
        metrics.observe_performance(live)
        return live

    @app.get(LEAD_PATH, response_model=LeadHistory)
    async def get_lead(request: Request, namespace: NamespaceName, lead_id: str,
                       limit: int = Query(50, ge=1, le=1000),
                       model: str | None = Query(None, min_length=1, max_length=253)) -> LeadHistory | JSONResponse:
        """One lead's predictions in ``namespace`` (newest first, at most ``limit``; ``model``'s
        only when given) and outcomes; 404 when unknown there."""
        await admit(request, READ_LEADS, namespace)
        history = await run_in_threadpool(lead_history, store, namespace, lead_id, limit, model)
        if history is None:
            return JSONResponse(status_code=404, content={
                "error": f"lead_id {lead_id!r}: no prediction or outcome recorded in namespace {namespace!r}"
                         + (f" for model {model!r}" if model else ""),
                "reason": "NotFound"})
        return history

    @app.get("/v1/leads/{lead_id}", include_in_schema=False)
    def lead_without_namespace(lead_id: str) -> None:
        raise InvalidInputError(
            f"namespace: required; ask for {LEAD_PATH.replace('{lead_id}', lead_id)} "
            "(a lead id means a lead of one namespace)")

    return app

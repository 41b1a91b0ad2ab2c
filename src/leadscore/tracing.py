"""Optional OpenTelemetry tracing for the collector and the predictor (docs/monitoring.md).

Off unless asked for in OpenTelemetry's own way: ``OTEL_TRACES_EXPORTER`` (``otlp`` or
``console``) or an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``); ``OTEL_SDK_DISABLED=true`` turns it off again. The rest
(service name, resource attributes, sampler, exporter headers, batching) are the SDK's own
``OTEL_*`` variables. OTLP goes over HTTP/protobuf (the one exporter the images carry).

A CRM's W3C ``traceparent`` reaches the predictor with its request. KServe's logger copies the
request headers that the InferenceService lists in ``logger.metadataHeaders`` (the operator lists
:data:`leadscore.api.wire.TRACE_CONTEXT_HEADERS`) into the CloudEvent's ``metadata`` extension,
JSON such as ``{"Traceparent": ["00-…"]}``; :func:`logged_trace_context` reads it back so the
collector's span for that event continues the CRM's trace.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate
from opentelemetry.context import Context

from leadscore.api.wire import TRACE_CONTEXT_HEADERS
from leadscore.errors import ConfigError

EXPORTERS_ENV = "OTEL_TRACES_EXPORTER"
_ENDPOINT_ENVS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_PROTOCOL_ENVS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
UNTRACED_PATHS = "/healthz$,/metrics$,/v2/health/,/v1/models/[^/:]+$,/v2/models/[^/]+/ready$"
"""Probes and scrapes make no spans (``excluded_urls`` of the FastAPI instrumentation: regular
expressions searched in the whole URL, so ``:predict`` must not match a model-status pattern)."""


def _exporter_names(env: Mapping[str, str]) -> list[str]:
    names = [n.strip().lower() for n in env.get(EXPORTERS_ENV, "").split(",") if n.strip()]
    if not names and any(env.get(name, "").strip() for name in _ENDPOINT_ENVS):
        names = ["otlp"]
    return [] if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true" else [n for n in names if n != "none"]


def tracing_wanted(env: Mapping[str, str] | None = None) -> bool:
    """True when the OTEL_* variables ask for traces (see the module docstring)."""
    return bool(_exporter_names(os.environ if env is None else env))


def _check(names: list[str], env: Mapping[str, str]) -> None:
    """Refuse a setting this image cannot honour, naming the variable, before anything starts."""
    for name in names:
        if name not in ("otlp", "console"):
            raise ConfigError(f"{EXPORTERS_ENV}: {name!r} is not an exporter here; use otlp, console or none")
    variable = next((n for n in _PROTOCOL_ENVS if env.get(n, "").strip()), None)
    protocol = env[variable].strip() if variable else "http/protobuf"
    if "otlp" in names and protocol != "http/protobuf":
        raise ConfigError(f"{variable}: {protocol!r} is not installed; use http/protobuf (port 4318)")


def _span_exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout, compression: the OTEL_EXPORTER_OTLP_* variables


def configure_tracing(service: str, env: Mapping[str, str] | None = None) -> bool:
    """Install the SDK's tracer provider for this process when tracing is wanted; True if it is.

    ``service`` is the ``service.name`` unless ``OTEL_SERVICE_NAME`` says otherwise. Idempotent:
    a process that already has an SDK provider keeps it (KServe's ``--workers`` call this once each).
    """
    env = os.environ if env is None else env
    names = _exporter_names(env)
    if not names:
        return False
    _check(names, env)
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return True
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service}
    provider = TracerProvider(resource=Resource.create(attributes))
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_span_exporter(name)))
    trace.set_tracer_provider(provider)
    return True


def instrument_app(app: Any) -> None:
    """Server spans for every request of a FastAPI app (the trace context comes from ``traceparent``)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # one span per request: not one more per ASGI receive and send message
    FastAPIInstrumentor.instrument_app(app, excluded_urls=UNTRACED_PATHS, exclude_spans=["receive", "send"])


def logged_trace_context(metadata: Mapping[str, object]) -> Context | None:
    """The trace context of the request KServe's logger recorded, from its ``metadata`` extension
    (header names in any case, each with a list of values as Go's ``http.Header`` holds them)."""
    wanted = {name.lower() for name in TRACE_CONTEXT_HEADERS}
    carrier: dict[str, str] = {}
    for name, values in metadata.items():
        value = values[0] if isinstance(values, list) and values else values
        if name.lower() in wanted and isinstance(value, str):
            carrier[name.lower()] = value
    return propagate.extract(carrier) if "traceparent" in carrier else None

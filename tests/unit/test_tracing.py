"""Optional tracing: the OTEL_* switch, refused settings, and the trace context KServe's logger forwards.

The span test uses the real OpenTelemetry SDK with its in-memory exporter, on a provider of its
own (the process-wide provider can be set only once, so it is left alone).
"""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from leadscore.api.wire import TRACE_CONTEXT_HEADERS
from leadscore.errors import ConfigError
from leadscore.tracing import configure_tracing, logged_trace_context, tracing_wanted

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{SPAN_ID}-01"


@pytest.mark.parametrize(
    ("env", "wanted"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://otel:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_SERVICE_NAME": "crm"}, False),  # naming a service asks for nothing
    ],
)
def test_tracing_is_off_unless_the_otel_variables_ask(env: dict[str, str], wanted: bool) -> None:
    assert tracing_wanted(env) is wanted


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"},
         "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
    ],
)
def test_a_setting_the_image_cannot_honour_is_refused_by_name(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        configure_tracing("leadscore-test", env)


def test_off_installs_nothing() -> None:
    assert configure_tracing("leadscore-test", {}) is False


def test_the_operator_lists_the_trace_headers_as_kserves_agent_matches_them() -> None:
    # Go canonicalises request header names and the agent compares them exactly with the list.
    assert TRACE_CONTEXT_HEADERS == ("Traceparent", "Tracestate")


def test_a_span_started_in_the_forwarded_context_joins_the_crms_trace() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    metadata = {"Traceparent": [TRACEPARENT], "Tracestate": ["crm=1"], "X-Other": ["x"]}

    with tracer.start_as_current_span("record", context=logged_trace_context(metadata)):
        pass
    with tracer.start_as_current_span("unrelated", context=logged_trace_context({"X-Other": ["x"]})):
        pass

    joined, unrelated = exporter.get_finished_spans()
    assert f"{joined.context.trace_id:032x}" == TRACE_ID
    assert joined.parent is not None and f"{joined.parent.span_id:016x}" == SPAN_ID
    assert joined.context.trace_state.get("crm") == "1"
    assert f"{unrelated.context.trace_id:032x}" != TRACE_ID and unrelated.parent is None


def test_header_names_match_in_any_case_and_a_bare_string_is_accepted() -> None:
    context = logged_trace_context({"traceparent": TRACEPARENT})
    assert context is not None
    assert logged_trace_context({}) is None
    assert logged_trace_context({"Traceparent": []}) is None


@pytest.mark.parametrize(
    ("path", "traced"),
    [
        ("/v1/models/pc:predict", True),
        ("/v1/models/pc:explain", True),
        ("/v2/models/pc/infer", True),
        ("/v1/namespaces/sales/outcomes", True),
        ("/v1/events", True),
        ("/v1/models/pc", False),
        ("/v2/models/pc/ready", False),
        ("/v2/health/live", False),
        ("/healthz", False),
        ("/metrics", False),
    ],
)
def test_probes_and_scrapes_make_no_spans_and_scoring_does(path: str, traced: bool) -> None:
    from opentelemetry.util.http import parse_excluded_urls

    from leadscore.tracing import UNTRACED_PATHS

    assert parse_excluded_urls(UNTRACED_PATHS).url_disabled(f"http://127.0.0.1:8080{path}") is not traced


def test_the_predictor_stops_at_start_on_a_tracing_setting_it_cannot_honour(monkeypatch, capsys) -> None:
    from leadscore.predictor.__main__ import main

    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "jaeger")
    assert main(["--model_dir", "/nonexistent", "--model_name", "pc"]) == ConfigError.exit_code
    assert "OTEL_TRACES_EXPORTER: 'jaeger' is not an exporter here" in capsys.readouterr().err

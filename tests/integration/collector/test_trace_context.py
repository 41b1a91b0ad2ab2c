"""A CRM's trace continues through the predictor and, via KServe's logger, into the collector.

Real processes with the real OpenTelemetry SDK, switched on the way a deployment does it
(``OTEL_TRACES_EXPORTER``; the console exporter, so the spans can be read from the logs): the
predictor (KServe's ModelServer) scores a request that carries a W3C ``traceparent``; the test
then plays KServe's agent, which is Go and cannot run here without a pod: it posts both halves
to the collector with the request's ``Traceparent`` in ``ce-metadata``, byte for byte what
``pkg/logger`` (v0.20) sends when the InferenceService lists it in ``logger.metadataHeaders``
(that the real controller and pod webhook hand the operator's list to the agent is asserted in
tests/integration/kserve). The predictor also runs with ``LEADSCORE_LOG_FORMAT=json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from integration.predictor.predictor_artifacts import build_artifact, request_records
from integration.predictor.predictor_servers import Predictor, running_predictor
from support.collector import running_collector
from support.polling import eventually
from unit.collector.kserve_logger import headers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TRACED = {"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "100"}


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object that starts a line (a JSON log line, or a console-exported span)."""
    decoder, found, offset = json.JSONDecoder(), [], 0
    for line in text.splitlines(keepends=True):
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):  # a line that only looks like JSON
                found.append(decoder.raw_decode(text, offset)[0])
        offset += len(line)
    return found


def spans(log: Path) -> list[dict[str, Any]]:
    return [o for o in json_objects(log.read_text(errors="replace")) if "context" in o]


def event_spans(log: Path) -> list[dict[str, Any]]:
    return [x for x in spans(log) if x["name"] == "record inference event"]


def log_entries(log: Path) -> list[dict[str, Any]]:
    return [o for o in json_objects(log.read_text(errors="replace")) if "level" in o]


@pytest.fixture(scope="module")
def predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    artifact = build_artifact(tmp_path_factory.mktemp("artifacts") / "v1", "v1", algorithms=("lr",), seed=7)
    env = {**TRACED, "LEADSCORE_LOG_FORMAT": "json"}
    with running_predictor(artifact, tmp_path_factory.mktemp("logs"), name="pc", env=env) as running:
        yield running


def test_the_collectors_span_joins_the_trace_the_crm_started_at_the_predictor(
    predictor: Predictor, tmp_path: Path
) -> None:
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = f"00-{trace_id}-{parent_id}-01"
    body = json.dumps({"instances": request_records(3, seed=5)}).encode()
    reply = httpx.post(f"{predictor.http}/v1/models/pc:predict", content=body, timeout=30,
                       headers={"Content-Type": "application/json", "traceparent": traceparent})
    assert reply.status_code == 200

    env = {**os.environ, **TRACED}
    log = tmp_path / "collector.log"
    with (
        running_collector(f"sqlite:///{tmp_path / 'events.db'}", log, env=env) as url,
        httpx.Client(base_url=url, timeout=30) as sink,
    ):
        for event_id, metadata in (("traced", {"Traceparent": [traceparent]}), ("untraced", None)):
            for kind, content in (("request", body), ("response", reply.content)):
                posted = sink.post("/v1/events", content=content,
                                   headers=headers(event_id, kind, isvc="pc", metadata=metadata))
                assert posted.status_code == 200, posted.text
        # the batch processor exports every 100 ms
        recorded = eventually(lambda: event_spans(log) if len(event_spans(log)) == 4 else None,
                              what="the collector's four event spans", timeout=30)
    served = eventually(
        lambda: [x for x in spans(predictor.process.log_path) if x["context"]["trace_id"] == f"0x{trace_id}"],
        what="the predictor's span of the CRM's request", timeout=30)

    # the predictor's server span is a child of the CRM's span
    server = next(s for s in served if s["kind"] == "SpanKind.SERVER")
    assert server["parent_id"] == f"0x{parent_id}" and ":predict" in server["name"]
    assert server["resource"]["attributes"]["service.name"] == "leadscore-predictor"
    # both halves logged with the forwarded trace context continue that same trace ...
    joined = [s for s in recorded if s["attributes"]["cloudevents.event_id"] == "traced"]
    assert len(joined) == 2
    assert all(s["context"]["trace_id"] == f"0x{trace_id}" and s["parent_id"] == f"0x{parent_id}" for s in joined)
    assert all(s["resource"]["attributes"]["service.name"] == "leadscore-collector" for s in joined)
    assert all(len(s["links"]) == 1 for s in joined)  # ... linked to the logger's own HTTP request
    # without it, the event's span stays in the collector's own trace
    alone = [s for s in recorded if s["attributes"]["cloudevents.event_id"] == "untraced"]
    assert len(alone) == 2 and all(s["context"]["trace_id"] != f"0x{trace_id}" for s in alone)


def test_the_predictor_writes_json_log_lines_when_asked(predictor: Predictor) -> None:
    refused = httpx.post(f"{predictor.http}/v1/models/pc:predict", content=b"{not json", timeout=30,
                         headers={"Content-Type": "application/json"})
    assert refused.status_code == 400
    log = predictor.process.log_path
    eventually(lambda: any(e["logger"] == "leadscore.predictor" and "refused" in e["message"]
                           for e in log_entries(log)), what="the refusal logged as JSON", timeout=30)
    entries = log_entries(log)
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert "kserve" in {e["logger"] for e in entries}  # KServe's own lines (model registered, server started)
    plain = [line for line in log.read_text(errors="replace").splitlines()
             if line[:4].isdigit() and " kserve" in line]  # KServe's default text format
    assert not plain

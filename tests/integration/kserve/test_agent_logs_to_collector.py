"""KServe's real agent between a CRM and the predictor logs what was scored to the collector.

The agent (Go, KServe v0.20, hack/build-kserve.sh) runs with the arguments KServe's pod webhook
gives it for an InferenceService whose logger points at the collector: the
``leadscoring.io/experiment`` annotation and the ``Traceparent``/``Tracestate`` headers the
operator lists in ``logger.metadataHeaders``. Through it a CRM's request reaches the predictor
unchanged; the collector stores each scored lead with its version and experiment, and its span
for each logged half continues the trace the CRM started, exactly when the CRM sent one (the
real OpenTelemetry SDK, console exporter, read back from the logs).
"""

from __future__ import annotations

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
from leadscore.api.wire import EXPERIMENT_ANNOTATION, TRACE_CONTEXT_HEADERS
from support.collector import running_collector
from support.kserve import KServeInstall
from support.kserve_agent import running_agent
from support.polling import eventually
from support.spans import TRACED, event_spans, spans

pytestmark = [pytest.mark.integration, pytest.mark.kserve, pytest.mark.slow]

NAMESPACE, SERVICE, EXPERIMENT = "sales", "pc", "pc-v1-vs-v1"


@pytest.fixture(scope="module")
def predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    artifact = build_artifact(tmp_path_factory.mktemp("artifacts") / "v1", "v1", algorithms=("lr",), seed=7)
    with running_predictor(artifact, tmp_path_factory.mktemp("logs"), name=SERVICE, env=TRACED) as running:
        yield running


def history(collector: httpx.Client, lead_id: str) -> dict[str, Any] | None:
    reply = collector.get(f"/v1/namespaces/{NAMESPACE}/leads/{lead_id}")
    return reply.json() if reply.status_code == 200 else None


def test_the_real_agent_relays_scores_and_trace_context_to_the_collector(
    predictor: Predictor, kserve_install: KServeInstall, tmp_path: Path
) -> None:
    from urllib.parse import urlsplit

    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    records = request_records(4, seed=5)
    body = json.dumps({"instances": records}).encode()
    log = tmp_path / "collector.log"
    with running_collector(f"sqlite:///{tmp_path / 'events.db'}", log, env={**os.environ, **TRACED}) as url:
        collector_port = urlsplit(url).port
        predictor_port = urlsplit(predictor.http).port
        assert collector_port and predictor_port
        with (
            running_agent(kserve_install.directory / "agent", tmp_path / "agent", predictor_port=predictor_port,
                          collector_port=collector_port, inference_service=SERVICE, namespace=NAMESPACE,
                          metadata_headers=TRACE_CONTEXT_HEADERS,
                          annotations={EXPERIMENT_ANNOTATION: EXPERIMENT}) as agent,
            httpx.Client(base_url=url, timeout=30) as collector,
        ):
            direct = httpx.post(f"{predictor.http}/v1/models/{SERVICE}:predict", content=body, timeout=30,
                                headers={"Content-Type": "application/json"})
            through = httpx.post(f"{agent.url}/v1/models/{SERVICE}:predict", content=body, timeout=30,
                                 headers={"Content-Type": "application/json",
                                          "traceparent": f"00-{trace_id}-{parent_id}-01"})
            assert through.status_code == 200, through.text
            strip = ("processing_time_ms",)
            assert ([{k: v for k, v in p.items() if k not in strip} for p in through.json()["predictions"]]
                    == [{k: v for k, v in p.items() if k not in strip} for p in direct.json()["predictions"]])

            # the agent logs asynchronously: each lead appears once both halves are stored
            lead_ids = [r["lead_id"] for r in records]
            stored = eventually(lambda: [h for h in map(lambda i: history(collector, i), lead_ids) if h]
                                if all(history(collector, i) for i in lead_ids) else None,
                                what="the four leads logged by the agent", timeout=60, interval=0.5)
            scored = {h["lead_id"]: h["predictions"][0] for h in stored}
            for prediction in through.json()["predictions"]:
                entry = scored[prediction["lead_id"]]
                assert entry["inference_service"] == SERVICE and entry["namespace"] == NAMESPACE
                assert entry["model_version"] == "v1" and entry["experiment"] == EXPERIMENT
                assert entry["probability"] == pytest.approx(prediction["probability"], abs=1e-9)
            # a request that carries no trace context: its logged halves cannot join one
            untraced = httpx.post(f"{agent.url}/v1/models/{SERVICE}:predict", timeout=30,
                                  content=json.dumps({"instances": request_records(1, seed=6)}).encode(),
                                  headers={"Content-Type": "application/json"})
            assert untraced.status_code == 200, untraced.text
            assert "Failed to" not in agent.process.log_tail(20000)

            recorded = eventually(lambda: event_spans(log) if len(event_spans(log)) == 4 else None,
                                  what="the collector's spans of the four logged halves", timeout=30)
    served = eventually(
        lambda: [s for s in spans(predictor.process.log_path) if s["context"]["trace_id"] == f"0x{trace_id}"],
        what="the predictor's span of the CRM's request", timeout=30)
    assert any(s["kind"] == "SpanKind.SERVER" and s["parent_id"] == f"0x{parent_id}" for s in served)
    # the agent forwarded the CRM's traceparent in the CloudEvent's metadata: same trace, same parent
    joined = [s for s in recorded if s["context"]["trace_id"] == f"0x{trace_id}"]
    assert len(joined) == 2 and all(s["parent_id"] == f"0x{parent_id}" for s in joined)
    assert all(len(s["links"]) == 1 for s in joined)  # linked to the agent's own HTTP request to the collector
    assert all(s["resource"]["attributes"]["service.name"] == "leadscore-collector" for s in recorded)

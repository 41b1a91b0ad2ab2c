"""V2 (Open Inference Protocol) REST: metadata, health, field tensors and the records input."""

from __future__ import annotations

import json

import httpx
import pytest
from predictor_servers import Predictor

pytestmark = pytest.mark.integration

V2_TYPES = {"FP64", "BOOL", "BYTES"}


def _metadata(server: Predictor) -> dict[str, object]:
    return httpx.get(f"{server.http}/v2/models/{server.name}").json()


def field_tensors(metadata: dict[str, object], leads: list[dict[str, object]]) -> list[dict[str, object]]:
    """One V2 tensor per field the model lists, null / "" where a lead lacks the value.

    BOOL has no missing value, so a boolean field with gaps travels as BYTES "true"/"false"/"".
    """
    tensors = []
    for entry in metadata["inputs"]:
        name, datatype = entry["name"], entry["datatype"]
        if name == "records":
            continue
        values = [lead.get(name) for lead in leads]
        if datatype == "FP64":
            data = [None if v is None else float(v) for v in values]  # JSON null = missing
        elif datatype == "BOOL" and None not in values:
            data = [bool(v) for v in values]
        elif datatype == "BOOL":
            datatype, data = "BYTES", ["" if v is None else str(bool(v)).lower() for v in values]
        else:
            data = ["" if v is None else str(v) for v in values]
        tensors.append({"name": name, "datatype": datatype, "shape": [len(leads)], "data": data})
    return tensors


def test_metadata_lists_every_feature_field_with_a_type_and_the_records_input(server: Predictor) -> None:
    metadata = _metadata(server)
    inputs = {i["name"]: i["datatype"] for i in metadata["inputs"]}
    assert inputs["lead_id"] == "BYTES" and inputs["pages_visited"] == "FP64"
    assert inputs["requested_quote"] == "BOOL" and inputs["records"] == "BYTES"
    assert set(inputs.values()) <= V2_TYPES
    assert [o["name"] for o in metadata["outputs"]] == [
        "lead_id",
        "probability",
        "score",
        "tier",
        "action",
        "sla",
        "priority",
        "prediction",
        "model_version",
        "model_type",
        "vertical",
        "interval_low",
        "interval_high",
        "confidence",
        "agreement",
        "processing_time_ms",
    ]


def test_health_endpoints_report_live_and_ready_when_serving(server: Predictor) -> None:
    assert httpx.get(f"{server.http}/v2/health/live").json() == {"live": True}
    assert httpx.get(f"{server.http}/v2/health/ready").json() == {"ready": True}
    assert httpx.get(f"{server.http}/v2/models/{server.name}/ready").json()["ready"] is True


def _outputs(response: httpx.Response) -> dict[str, list[object]]:
    assert response.status_code == 200, response.text
    return {o["name"]: o["data"] for o in response.json()["outputs"]}


def test_infer_scores_like_v1_when_fields_come_as_named_tensors(
    server: Predictor, leads: list[dict[str, object]]
) -> None:
    v1 = httpx.post(f"{server.http}/v1/models/{server.name}:predict", json={"instances": leads}).json()
    tensors = field_tensors(_metadata(server), leads)
    out = _outputs(
        httpx.post(f"{server.http}/v2/models/{server.name}/infer", json={"id": "req-1", "inputs": tensors}, timeout=30)
    )
    assert out["lead_id"] == [p["lead_id"] for p in v1["predictions"]]
    assert out["probability"] == pytest.approx([p["probability"] for p in v1["predictions"]], abs=1e-6)
    assert out["tier"] == [p["tier"] for p in v1["predictions"]]
    assert set(out["model_version"]) == {"v1"}


def test_infer_scores_like_v1_when_whole_records_come_as_json(
    server: Predictor, leads: list[dict[str, object]]
) -> None:
    v1 = httpx.post(f"{server.http}/v1/models/{server.name}:predict", json={"instances": leads}).json()
    body = {
        "inputs": [
            {
                "name": "records",
                "datatype": "BYTES",
                "shape": [len(leads)],
                "data": [json.dumps(lead) for lead in leads],
            }
        ]
    }
    response = httpx.post(f"{server.http}/v2/models/{server.name}/infer", json=body, timeout=30)
    out = _outputs(response)
    assert response.json()["model_version"] == "v1"
    assert out["score"] == [p["score"] for p in v1["predictions"]]
    assert out["action"] == [p["action"] for p in v1["predictions"]]
    assert out["sla"] == [p["sla"] or "" for p in v1["predictions"]]  # BYTES: no SLA is ""
    assert out["priority"] == [p["priority"] for p in v1["predictions"]]
    for name in ("prediction", "model_type", "vertical"):
        assert out[name] == [p[name] for p in v1["predictions"]], name
    assert len(set(out["processing_time_ms"])) == 1 and out["processing_time_ms"][0] > 0

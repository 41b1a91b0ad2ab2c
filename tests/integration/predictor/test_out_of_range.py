"""Out-of-range leads never jump the queue (issue 19, item 3): numeric values are clipped to
the training range on every path, text length features are capped, such leads are flagged in
the response and counted, and documented upper bounds are refused with 400."""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import httpx
import pytest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from predictor_servers import Predictor

from leadscore.features.contract import MAX_STRING_CHARS, MAX_TEXT_CHARS

pytestmark = pytest.mark.integration


def _clip(artifact: Path, name: str) -> tuple[float, float]:
    spec = json.loads((artifact / "feature_spec.json").read_text())
    return tuple(next(f for f in spec["inputs"] if f["name"] == name)["clip"])


def _v1(server: Predictor, leads: list[dict[str, object]]) -> list[dict[str, object]]:
    response = httpx.post(f"{server.http}/v1/models/{server.name}:predict", json={"instances": leads}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def _v2_fields(server: Predictor, leads: list[dict[str, object]], field: str) -> dict[str, list[object]]:
    """lead_id and one numeric field as named tensors (the columnar path)."""
    body = {"inputs": [
        {"name": "lead_id", "datatype": "BYTES", "shape": [len(leads)], "data": [str(x["lead_id"]) for x in leads]},
        {"name": field, "datatype": "FP64", "shape": [len(leads)], "data": [x.get(field) for x in leads]},
    ]}
    response = httpx.post(f"{server.http}/v2/models/{server.name}/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return {o["name"]: o["data"] for o in response.json()["outputs"]}


def _grpc_records(server: Predictor, leads: list[dict[str, object]]) -> dict[str, list[object]]:
    tensor = pb.ModelInferRequest.InferInputTensor(
        name="records", datatype="BYTES", shape=[len(leads)],
        contents=pb.InferTensorContents(bytes_contents=[json.dumps(lead).encode() for lead in leads]),
    )
    with grpc.insecure_channel(server.grpc) as channel:
        response = GRPCInferenceServiceStub(channel).ModelInfer(
            pb.ModelInferRequest(model_name=server.name, inputs=[tensor]), timeout=30
        )
    out: dict[str, list[object]] = {}
    for t in response.outputs:
        if t.datatype == "BYTES":
            out[t.name] = [b.decode() for b in t.contents.bytes_contents]
        elif t.datatype == "FP64":
            out[t.name] = list(t.contents.fp64_contents)
    return out


@pytest.mark.parametrize(("field", "far"), [("time_on_site", 86400), ("pages_visited", 1000), ("pages_visited", 1e308)])
def test_far_out_value_scores_as_the_clip_point_and_is_flagged(
    server: Predictor, artifact_v1: Path, leads: list[dict[str, object]], field: str, far: float
) -> None:
    high = _clip(artifact_v1, field)[1]
    at_clip = {**leads[0], "lead_id": "at-clip", field: high}
    beyond = {**leads[0], "lead_id": "beyond", field: far}
    v1 = _v1(server, [at_clip, beyond])
    assert v1[1]["probability"] == v1[0]["probability"]
    assert v1[1]["out_of_range"] == [field]
    assert "out_of_range" not in v1[0]
    batch = [{**leads[i % len(leads)], "lead_id": f"b{i}"} for i in range(18)] + [at_clip, beyond]  # columnar path
    v2 = _v2_fields(server, batch, field)
    assert v2["probability"][-1] == v2["probability"][-2]  # (only lead_id and the field are sent)
    assert v2["out_of_range"][-1] == field and v2["out_of_range"][-2] == ""
    over_grpc = _grpc_records(server, [at_clip, beyond])
    assert over_grpc["probability"][1] == over_grpc["probability"][0] == v1[0]["probability"]
    assert over_grpc["out_of_range"] == ["", field]


def test_out_of_range_leads_are_counted_by_field(server: Predictor, leads: list[dict[str, object]]) -> None:
    def count() -> float:
        text = httpx.get(f"{server.http}/metrics", timeout=30).text
        line = next((x for x in text.splitlines() if x.startswith("leadscore_out_of_range_total{")
                     and 'field="time_on_site"' in x and f'model_name="{server.name}"' in x), None)
        return 0.0 if line is None else float(line.rsplit(" ", 1)[1])

    before = count()
    _v1(server, [{**leads[0], "time_on_site": 10**7}, {**leads[1], "time_on_site": 10**8}, leads[2]])
    assert count() == before + 2


def test_long_note_beyond_training_is_capped_and_flagged(server: Predictor, leads: list[dict[str, object]]) -> None:
    longest = {**leads[0], "lead_id": "long", "notes": "word " * 1900}
    longer = {**leads[0], "lead_id": "longer", "notes": "word " * 1999}
    v1 = _v1(server, [longest, longer])
    assert v1[0]["probability"] == v1[1]["probability"]
    assert v1[1]["out_of_range"] == ["notes"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"notes": "n" * (MAX_TEXT_CHARS + 1)}, f"instances[0].notes: expected at most {MAX_TEXT_CHARS} characters"),
        ({"source": "s" * (MAX_STRING_CHARS + 1)}, f"instances[0].source: expected at most {MAX_STRING_CHARS} char"),
        ({"lead_id": "i" * (MAX_STRING_CHARS + 1)}, f"instances[0].lead_id: expected at most {MAX_STRING_CHARS} char"),
    ],
)
def test_strings_over_the_documented_length_are_refused(
    server: Predictor, leads: list[dict[str, object]], change: dict[str, object], message: str
) -> None:
    response = httpx.post(
        f"{server.http}/v1/models/{server.name}:predict", json={"instances": [{**leads[0], **change}]}, timeout=30
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    batch = [{**leads[i % len(leads)], "lead_id": f"b{i}"} for i in range(20)]  # the columnar path refuses too
    batch[17] = {**batch[17], **change}
    response = httpx.post(f"{server.http}/v1/models/{server.name}:predict", json={"instances": batch}, timeout=30)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message.replace("[0]", "[17]"))

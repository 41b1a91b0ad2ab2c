"""gRPC (V2) with KServe's generated stubs: health, metadata, ModelInfer, INVALID_ARGUMENT."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from predictor_servers import Predictor

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stub(server: Predictor) -> Iterator[GRPCInferenceServiceStub]:
    with grpc.insecure_channel(server.grpc) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        yield GRPCInferenceServiceStub(channel)


def _records_request(name: str, leads: list[dict[str, object]]) -> pb.ModelInferRequest:
    tensor = pb.ModelInferRequest.InferInputTensor(
        name="records",
        datatype="BYTES",
        shape=[len(leads)],
        contents=pb.InferTensorContents(bytes_contents=[json.dumps(lead).encode() for lead in leads]),
    )
    return pb.ModelInferRequest(model_name=name, id="grpc-1", inputs=[tensor])


def _outputs(response: pb.ModelInferResponse) -> dict[str, list[object]]:
    out = {}
    for tensor in response.outputs:
        contents = tensor.contents
        if tensor.datatype == "BYTES":
            out[tensor.name] = [b.decode() for b in contents.bytes_contents]
        elif tensor.datatype == "FP64":
            out[tensor.name] = list(contents.fp64_contents)
        elif tensor.datatype == "BOOL":
            out[tensor.name] = list(contents.bool_contents)
        else:
            out[tensor.name] = list(contents.int64_contents)
    return out


def test_health_and_metadata_answer_when_model_is_loaded(stub: GRPCInferenceServiceStub, server: Predictor) -> None:
    assert stub.ServerLive(pb.ServerLiveRequest()).live
    assert stub.ServerReady(pb.ServerReadyRequest()).ready
    assert stub.ModelReady(pb.ModelReadyRequest(name=server.name)).ready
    metadata = stub.ModelMetadata(pb.ModelMetadataRequest(name=server.name))
    assert {"lead_id", "records", "pages_visited"} <= {i.name for i in metadata.inputs}


def test_model_infer_scores_like_v1_when_records_are_sent(
    stub: GRPCInferenceServiceStub, server: Predictor, leads: list[dict[str, object]]
) -> None:
    import httpx

    v1 = httpx.post(f"{server.http}/v1/models/{server.name}:predict", json={"instances": leads}).json()
    response = stub.ModelInfer(_records_request(server.name, leads), timeout=30)
    out = _outputs(response)
    assert response.id == "grpc-1" and response.model_version == "v1"
    assert out["lead_id"] == [p["lead_id"] for p in v1["predictions"]]
    assert out["probability"] == pytest.approx([p["probability"] for p in v1["predictions"]], abs=1e-6)
    assert out["tier"] == [p["tier"] for p in v1["predictions"]]
    assert out["sla"] == [p["sla"] or "" for p in v1["predictions"]]
    assert out["priority"] == [p["priority"] for p in v1["predictions"]]
    for name in ("prediction", "model_type", "vertical"):
        assert out[name] == [p[name] for p in v1["predictions"]], name
    assert len(out["processing_time_ms"]) == len(leads) and out["processing_time_ms"][0] > 0


def test_model_infer_accepts_named_field_tensors_when_one_per_field(
    stub: GRPCInferenceServiceStub, server: Predictor
) -> None:
    inputs = [
        pb.ModelInferRequest.InferInputTensor(
            name="lead_id",
            datatype="BYTES",
            shape=[2],
            contents=pb.InferTensorContents(bytes_contents=[b"g-1", b"g-2"]),
        ),
        pb.ModelInferRequest.InferInputTensor(
            name="pages_visited", datatype="FP64", shape=[2], contents=pb.InferTensorContents(fp64_contents=[1.0, 14.0])
        ),
        pb.ModelInferRequest.InferInputTensor(
            name="requested_quote",
            datatype="BOOL",
            shape=[2],
            contents=pb.InferTensorContents(bool_contents=[False, True]),
        ),
    ]
    out = _outputs(stub.ModelInfer(pb.ModelInferRequest(model_name=server.name, inputs=inputs), timeout=30))
    assert out["lead_id"] == ["g-1", "g-2"]
    assert all(0.0 <= p <= 1.0 for p in out["probability"])


def test_model_infer_fails_invalid_argument_naming_field_and_index_when_value_is_bad(
    stub: GRPCInferenceServiceStub, server: Predictor, leads: list[dict[str, object]]
) -> None:
    bad = [leads[0], {**leads[1], "pages_visited": -4}]
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelInfer(_records_request(server.name, bad), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "records[1].pages_visited: expected a number >= 0, got -4" in caught.value.details()


def test_model_infer_fails_invalid_argument_when_tensor_lengths_differ(
    stub: GRPCInferenceServiceStub, server: Predictor
) -> None:
    inputs = [
        pb.ModelInferRequest.InferInputTensor(
            name="lead_id", datatype="BYTES", shape=[2], contents=pb.InferTensorContents(bytes_contents=[b"a", b"b"])
        ),
        pb.ModelInferRequest.InferInputTensor(
            name="pages_visited", datatype="FP64", shape=[1], contents=pb.InferTensorContents(fp64_contents=[1.0])
        ),
    ]
    with pytest.raises(grpc.RpcError) as caught:
        stub.ModelInfer(pb.ModelInferRequest(model_name=server.name, inputs=inputs), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "inputs.pages_visited: 1 values but inputs.lead_id has 2" in caught.value.details()

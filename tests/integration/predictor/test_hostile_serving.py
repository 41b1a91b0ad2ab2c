"""Hostile callers against the real ModelServer: nobody takes the model down, refusals are
short and quiet, and bodies have a limit (issue 19, serving items 1, 4 and 6)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from predictor_servers import Predictor, running_predictor

pytestmark = pytest.mark.integration

BODY_LIMIT = 64 * 1024


@pytest.fixture(scope="module")
def limited_server(artifact_v1: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    """Default repository setting (off), a 64 KiB body limit."""
    env = {"LEADSCORE_MAX_BODY_BYTES": str(BODY_LIMIT)}
    with running_predictor(artifact_v1, tmp_path_factory.mktemp("logs"), name="pc-guard", env=env) as predictor:
        yield predictor


@pytest.fixture
def stub(limited_server: Predictor) -> Iterator[GRPCInferenceServiceStub]:
    with grpc.insecure_channel(limited_server.grpc) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        yield GRPCInferenceServiceStub(channel)


def _predict(server: Predictor, body: object) -> httpx.Response:
    return httpx.post(f"{server.http}/v1/models/{server.name}:predict", json=body, timeout=30)


def _can_score(server: Predictor, lead: dict[str, object]) -> bool:
    return _predict(server, {"instances": [lead]}).status_code == 200


def test_rest_unload_is_refused_and_the_model_keeps_scoring(
    limited_server: Predictor, leads: list[dict[str, object]]
) -> None:
    response = httpx.post(f"{limited_server.http}/v2/repository/models/{limited_server.name}/unload", timeout=30)
    assert response.status_code == 403
    assert "model repository API is disabled" in response.json()["error"]
    load = httpx.post(f"{limited_server.http}/v2/repository/models/{limited_server.name}/load", timeout=30)
    assert load.status_code == 403
    assert _can_score(limited_server, leads[0])
    assert httpx.get(f"{limited_server.http}/v2/health/ready", timeout=30).status_code == 200


def test_grpc_unload_is_refused_and_the_model_keeps_scoring(
    stub: GRPCInferenceServiceStub, limited_server: Predictor, leads: list[dict[str, object]]
) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        stub.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name=limited_server.name))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "model repository API is disabled" in (refused.value.details() or "")
    assert stub.ModelReady(pb.ModelReadyRequest(name=limited_server.name)).ready
    assert _can_score(limited_server, leads[0])


def test_readiness_turns_false_when_an_enabled_repository_api_unloads_the_model(
    artifact_v1: Path, tmp_path: Path, leads: list[dict[str, object]]
) -> None:
    env = {"LEADSCORE_MODEL_REPOSITORY_API": "true"}
    with running_predictor(artifact_v1, tmp_path, name="pc-repo", env=env) as server:
        assert httpx.get(f"{server.http}/v2/health/ready", timeout=30).status_code == 200
        unload = httpx.post(f"{server.http}/v2/repository/models/{server.name}/unload", timeout=30)
        assert unload.status_code == 200
        assert not _can_score(server, leads[0])
        assert httpx.get(f"{server.http}/v2/health/ready", timeout=30).status_code == 503
        with grpc.insecure_channel(server.grpc) as channel:
            assert not GRPCInferenceServiceStub(channel).ServerReady(pb.ServerReadyRequest(), timeout=30).ready


def test_refused_request_is_one_log_line_without_the_value(
    limited_server: Predictor, leads: list[dict[str, object]]
) -> None:
    secret = "jane.doe.private@example.org"
    before = limited_server.process.log_path.read_text(errors="replace")
    response = _predict(limited_server, {"instances": [{**leads[0], "pages_visited": secret}]})
    assert response.status_code == 400
    with grpc.insecure_channel(limited_server.grpc) as channel:
        tensor = pb.ModelInferRequest.InferInputTensor(
            name="records", datatype="BYTES", shape=[1],
            contents=pb.InferTensorContents(bytes_contents=[json.dumps({**leads[0], "time_on_site": secret}).encode()]),
        )
        with pytest.raises(grpc.RpcError) as refused:
            GRPCInferenceServiceStub(channel).ModelInfer(
                pb.ModelInferRequest(model_name=limited_server.name, inputs=[tensor]), timeout=30
            )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    added = limited_server.process.log_path.read_text(errors="replace")[len(before):]
    lines = [line for line in added.splitlines() if line.strip()]
    assert secret not in added
    assert "Traceback" not in added
    assert len(lines) == 2, added
    assert "instances[0].pages_visited" in lines[0]
    assert "records[0].time_on_site" in lines[1]


def test_body_over_the_limit_is_413_and_the_server_keeps_scoring(
    limited_server: Predictor, leads: list[dict[str, object]]
) -> None:
    big = {"instances": [{**leads[0], "notes": "x" * (BODY_LIMIT + 10)}]}
    response = _predict(limited_server, big)
    assert response.status_code == 413
    assert "larger than 65536 bytes" in response.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while streaming
        yield b'{"instances": [{"lead_id": "x", "notes": "'
        for _ in range(BODY_LIMIT // 1024 + 2):
            yield b"y" * 1024
        yield b'"}]}'

    url = f"{limited_server.http}/v1/models/{limited_server.name}:predict"
    streamed = httpx.post(url, content=chunks(), timeout=30)
    assert streamed.status_code == 413
    assert _can_score(limited_server, leads[0])


def test_grpc_message_over_the_limit_is_refused(stub: GRPCInferenceServiceStub, limited_server: Predictor) -> None:
    tensor = pb.ModelInferRequest.InferInputTensor(
        name="records", datatype="BYTES", shape=[1],
        contents=pb.InferTensorContents(bytes_contents=[b"x" * (BODY_LIMIT + 10)]),
    )
    with pytest.raises(grpc.RpcError) as refused:
        stub.ModelInfer(pb.ModelInferRequest(model_name=limited_server.name, inputs=[tensor]), timeout=30)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_v2_body_that_fails_schema_is_400_without_echo(limited_server: Predictor) -> None:
    marker = "echo-me-not-4711"
    body = {"inputs": [{"name": "lead_id", "datatype": "BYTES", "shape": "wrong", "data": [marker]}]}
    response = httpx.post(f"{limited_server.http}/v2/models/{limited_server.name}/infer", json=body, timeout=30)
    assert response.status_code == 400
    assert marker not in response.text
    assert "inputs" in response.json()["error"]

"""Per-client rate limit on the real ModelServer: 429 + Retry-After on REST, RESOURCE_EXHAUSTED on
gRPC, per client, and never on health (issue 18, "Rate limiting")."""

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

# One request per 1000 s refills: nothing refills while the test runs, so the counts are exact.
RATE, BURST, HEADER = "0.001", "2", "x-leadscore-client"


@pytest.fixture(scope="module")
def limited(artifact_v1: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    env = {"LEADSCORE_RATE_LIMIT": RATE, "LEADSCORE_RATE_BURST": BURST, "LEADSCORE_RATE_CLIENT_HEADER": HEADER}
    with running_predictor(artifact_v1, tmp_path_factory.mktemp("logs"), name="pc-rate", env=env) as predictor:
        yield predictor


def _predict(server: Predictor, lead: dict[str, object], client: str) -> httpx.Response:
    return httpx.post(f"{server.http}/v1/models/{server.name}:predict", json={"instances": [lead]},
                      headers={HEADER: client}, timeout=30)


def test_rest_client_over_its_rate_gets_429_with_retry_after_and_others_still_score(
    limited: Predictor, leads: list[dict[str, object]]
) -> None:
    answers = [_predict(limited, leads[0], "crm-a") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 900 <= int(answers[2].headers["retry-after"]) <= 1000
    assert "rate limit" in answers[2].json()["error"]
    assert _predict(limited, leads[0], "crm-b").status_code == 200  # per client
    v2 = httpx.post(f"{limited.http}/v2/models/{limited.name}/infer", headers={HEADER: "crm-a"}, timeout=30,
                    json={"inputs": [{"name": "records", "datatype": "BYTES", "shape": [1],
                                      "data": [json.dumps(leads[0])]}]})
    assert v2.status_code == 429  # one bucket for V1 and V2
    assert httpx.get(f"{limited.http}/v2/health/ready", headers={HEADER: "crm-a"}, timeout=30).status_code == 200
    assert httpx.get(f"{limited.http}/v1/models/{limited.name}", headers={HEADER: "crm-a"}, timeout=30) \
        .status_code == 200


def test_grpc_client_over_its_rate_gets_resource_exhausted(
    limited: Predictor, leads: list[dict[str, object]]
) -> None:
    tensor = pb.ModelInferRequest.InferInputTensor(
        name="records", datatype="BYTES", shape=[1],
        contents=pb.InferTensorContents(bytes_contents=[json.dumps(leads[0]).encode()]))
    request = pb.ModelInferRequest(model_name=limited.name, inputs=[tensor])
    with grpc.insecure_channel(limited.grpc) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        stub = GRPCInferenceServiceStub(channel)
        for _ in range(2):
            assert stub.ModelInfer(request, metadata=((HEADER, "crm-grpc"),), timeout=30).outputs
        with pytest.raises(grpc.RpcError) as refused:
            stub.ModelInfer(request, metadata=((HEADER, "crm-grpc"),), timeout=30)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "rate limit" in (refused.value.details() or "")
        assert 900 <= int(dict(refused.value.trailing_metadata() or ())["retry-after"]) <= 1000
        assert stub.ServerReady(pb.ServerReadyRequest(), metadata=((HEADER, "crm-grpc"),), timeout=30).ready
        # REST and gRPC draw on one bucket per client
        assert _predict(limited, leads[0], "crm-grpc").status_code == 429
        assert stub.ModelInfer(request, metadata=((HEADER, "crm-other"),), timeout=30).outputs


def test_without_the_header_a_client_is_its_address(limited: Predictor, leads: list[dict[str, object]]) -> None:
    answers = [httpx.post(f"{limited.http}/v1/models/{limited.name}:predict", json={"instances": [leads[0]]},
                          timeout=30) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]

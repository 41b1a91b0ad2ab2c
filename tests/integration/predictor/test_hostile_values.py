"""Hostile values against the real ModelServer (issue 19, items 2, 5 and 7): each is a 400
naming the tensor or field, over REST and gRPC, and the server keeps scoring."""

from __future__ import annotations

import gzip
import json

import grpc
import httpx
import pytest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from predictor_servers import Predictor

pytestmark = pytest.mark.integration


def _v2(server: Predictor, inputs: list[dict[str, object]] | bytes) -> httpx.Response:
    url = f"{server.http}/v2/models/{server.name}/infer"
    if isinstance(inputs, bytes):
        return httpx.post(url, content=inputs, headers={"content-type": "application/json"}, timeout=30)
    return httpx.post(url, json={"inputs": inputs}, timeout=30)


def _ids(n: int) -> dict[str, object]:
    return {"name": "lead_id", "datatype": "BYTES", "shape": [n], "data": [f"h{i}" for i in range(n)]}


def _scores(response: httpx.Response) -> list[float]:
    assert response.status_code == 200, response.text
    return next(o["data"] for o in response.json()["outputs"] if o["name"] == "probability")


@pytest.mark.parametrize("bad", ["false", "maybe", 2, -1, "", "TRUE", 1.0])
def test_v2_bool_tensor_accepts_only_booleans_and_true_false_text(server: Predictor, bad: object) -> None:
    tensor = {"name": "requested_quote", "datatype": "BOOL", "shape": [3], "data": [True, False, bad]}
    if bad == "false":  # the documented text form is read as false, not as a non-empty string
        text = _scores(_v2(server, [_ids(3), tensor]))
        real = _scores(_v2(server, [_ids(3), {**tensor, "data": [True, False, False]}]))
        assert text == real
        return
    response = _v2(server, [_ids(3), tensor])
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("inputs.requested_quote[2]: expected true or false")


def test_v2_bool_null_is_missing_not_false(server: Predictor) -> None:
    given = _scores(_v2(server, [_ids(2), {"name": "requested_quote", "datatype": "BOOL", "shape": [2],
                                           "data": [None, False]}]))
    absent = _scores(_v2(server, [_ids(2)]))
    assert given[0] == absent[0]


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        ({"name": "pages_visited", "datatype": "INT64", "shape": [2], "data": [3, 10**30]},
         "inputs.pages_visited[1]: expected an integer within INT64"),
        ({"name": "pages_visited", "datatype": "FP64", "shape": [2], "data": [3, int("9" * 400)]},
         "inputs.pages_visited[1]: expected a finite number"),
        ({"name": "pages_visited", "datatype": "FP64", "shape": [2], "data": [3, "many"]},
         "inputs.pages_visited[1]: expected a number"),
    ],
)
def test_v2_numbers_beyond_their_datatype_are_400(server: Predictor, tensor: dict[str, object], message: str) -> None:
    body = json.dumps({"inputs": [_ids(2), tensor]}).encode()
    response = _v2(server, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(message)


def test_v1_field_nested_a_thousand_deep_is_400(server: Predictor) -> None:
    for depth in (900, 1000, 5000):
        body = b'{"instances": [{"lead_id": "n1", "source": ' + b"[" * depth + b"]" * depth + b"}]}"
        response = httpx.post(f"{server.http}/v1/models/{server.name}:predict", content=body, timeout=30)
        assert response.status_code == 400, response.text[:300]
    instances = b'{"instances": [' + b"[" * 900 + b"]" * 900 + b"]}"
    response = httpx.post(f"{server.http}/v1/models/{server.name}:predict", content=instances, timeout=30)
    assert response.status_code == 400, response.text[:300]


def test_v1_integer_beyond_float_range_is_400(server: Predictor) -> None:
    body = b'{"instances": [{"lead_id": "n2", "pages_visited": 1' + b"0" * 400 + b"}]}"
    response = httpx.post(f"{server.http}/v1/models/{server.name}:predict", content=body, timeout=30)
    assert response.status_code == 400, response.text[:300]  # KServe's JSON parser refuses it


def test_grpc_int64_and_bool_tensors_still_score(server: Predictor) -> None:
    tensors = [
        pb.ModelInferRequest.InferInputTensor(name="lead_id", datatype="BYTES", shape=[1],
                                              contents=pb.InferTensorContents(bytes_contents=[b"g1"])),
        pb.ModelInferRequest.InferInputTensor(name="pages_visited", datatype="INT64", shape=[1],
                                              contents=pb.InferTensorContents(int64_contents=[2**62])),
        pb.ModelInferRequest.InferInputTensor(name="requested_quote", datatype="BOOL", shape=[1],
                                              contents=pb.InferTensorContents(bool_contents=[True])),
    ]
    with grpc.insecure_channel(server.grpc) as channel:
        response = GRPCInferenceServiceStub(channel).ModelInfer(
            pb.ModelInferRequest(model_name=server.name, inputs=tensors), timeout=30
        )
    assert next(t.name for t in response.outputs) == "lead_id"


def test_gzip_body_is_refused_with_415(server: Predictor) -> None:
    body = gzip.compress(json.dumps({"instances": [{"lead_id": "z1"}]}).encode())
    response = httpx.post(
        f"{server.http}/v1/models/{server.name}:predict", content=body,
        headers={"content-type": "application/json", "content-encoding": "gzip"}, timeout=30,
    )
    assert response.status_code == 415
    assert "Content-Encoding gzip is not accepted" in response.json()["error"]


def test_get_on_predict_is_405_not_a_missing_model(server: Predictor) -> None:
    response = httpx.get(f"{server.http}/v1/models/{server.name}:predict", timeout=30)
    assert response.status_code == 405
    assert ":predict" not in response.json()["error"].split("model")[0]


@pytest.mark.parametrize("depth", [3, 900, 5000])
def test_v2_tensor_data_nested_deeper_than_its_shape_is_400(server: Predictor, depth: int) -> None:
    data = b"[" * depth + b'"x"' + b"]" * depth
    body = b'{"inputs": [{"name": "lead_id", "datatype": "BYTES", "shape": [1], "data": ' + data + b"}]}"
    response = _v2(server, body)
    assert response.status_code == 400, response.text[:300]

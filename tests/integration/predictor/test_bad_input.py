"""Every caller mistake is a 400 naming the field and the lead's index; never a 500."""

from __future__ import annotations

import httpx
import pytest
from predictor_servers import Predictor

pytestmark = pytest.mark.integration


def _post(server: Predictor, body: object) -> httpx.Response:
    return httpx.post(f"{server.http}/v1/models/{server.name}:predict", json=body, timeout=30)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pages_visited": "many"}, "instances[1].pages_visited: expected a number >= 0, got 'many'"),
        ({"pages_visited": -2}, "instances[1].pages_visited: expected a number >= 0, got -2"),
        ({"time_on_site": True}, "instances[1].time_on_site: expected a number"),
        ({"requested_quote": "maybe"}, "instances[1].requested_quote: expected true/false"),
        ({"created_at": "last tuesday"}, "instances[1].created_at: expected an ISO-8601 timestamp"),
        ({"source": ["web"]}, "instances[1].source: expected a string"),
        ({"lead_id": None}, "instances[1].lead_id:"),
    ],
)
def test_predict_answers_400_naming_index_and_field_when_a_value_is_wrong(
    server: Predictor, leads: list[dict[str, object]], change: dict[str, object], message: str
) -> None:
    response = _post(server, {"instances": [leads[0], {**leads[1], **change}]})
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


def test_predict_answers_400_when_the_required_lead_id_is_missing(
    server: Predictor, leads: list[dict[str, object]]
) -> None:
    lead = {k: v for k, v in leads[2].items() if k != "lead_id"}
    response = _post(server, {"instances": [leads[0], leads[1], lead]})
    assert response.status_code == 400
    assert response.json()["error"].startswith("instances[2].lead_id: required field is missing")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": []}, 'expected {"instances"'),
        ({"instances": "lead"}, "instances: expected a list of lead objects, got str"),
        ({"instances": []}, "instances: no leads given"),
        ({"instances": [17]}, "instances[0]: expected an object of lead fields, got int 17"),
    ],
)
def test_predict_answers_400_when_the_body_is_not_a_v1_request(server: Predictor, body: object, message: str) -> None:
    response = _post(server, body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_predict_answers_400_when_the_body_is_not_json(server: Predictor) -> None:
    response = httpx.post(
        f"{server.http}/v1/models/{server.name}:predict",
        content=b"{instances: oops",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400


def test_predict_refuses_with_limit_when_batch_is_oversized(server: Predictor, leads: list[dict[str, object]]) -> None:
    response = _post(server, {"instances": [leads[0]] * 51})
    assert response.status_code == 400
    assert response.json()["error"] == (
        "instances: 51 leads in one request, the limit is 50; split the batch or raise --max-batch"
    )


def test_strict_mode_answers_400_naming_the_unknown_field(
    strict_server: Predictor, leads: list[dict[str, object]]
) -> None:
    response = _post(strict_server, {"instances": [leads[0], {**leads[1], "favourite_colour": "teal"}]})
    assert response.status_code == 400
    assert response.json()["error"] == "instances[1].favourite_colour: unknown field (strict mode)"


def test_strict_mode_scores_when_every_field_is_known(strict_server: Predictor, leads: list[dict[str, object]]) -> None:
    assert _post(strict_server, {"instances": leads[:3]}).status_code == 200


def test_v2_infer_answers_400_naming_tensor_and_index_when_a_value_is_wrong(server: Predictor) -> None:
    body = {
        "inputs": [
            {"name": "lead_id", "datatype": "BYTES", "shape": [2], "data": ["a", "b"]},
            {"name": "pages_visited", "datatype": "FP64", "shape": [2], "data": [3.0, -1.0]},
        ]
    }
    response = httpx.post(f"{server.http}/v2/models/{server.name}/infer", json=body)
    assert response.status_code == 400
    assert "inputs.pages_visited[1]: expected a number >= 0, got -1" in response.json()["error"]


def test_explain_answers_400_naming_index_and_field_when_a_value_is_wrong(
    server: Predictor, leads: list[dict[str, object]]
) -> None:
    body = {"instances": [leads[0], {**leads[1], "requested_quote": "perhaps"}]}
    response = httpx.post(f"{server.http}/v1/models/{server.name}:explain", json=body, timeout=30)
    assert response.status_code == 400
    assert "instances[1].requested_quote: expected true/false" in response.json()["error"]


def test_v2_infer_refuses_with_limit_when_records_input_is_oversized(server: Predictor) -> None:
    body = {"inputs": [{"name": "records", "datatype": "BYTES", "shape": [51], "data": ['{"lead_id": "x"}'] * 51}]}
    response = httpx.post(f"{server.http}/v2/models/{server.name}/infer", json=body)
    assert response.status_code == 400
    assert "inputs.records: 51 leads in one request, the limit is 50" in response.json()["error"]


def test_batch_answers_400_naming_the_lead_when_one_of_many_is_bad(
    server: Predictor, leads: list[dict[str, object]]
) -> None:
    batch = [{**leads[i % len(leads)], "lead_id": f"b-{i}"} for i in range(40)]  # the columnar path
    batch[33] = {**batch[33], "time_on_site": -5}
    response = httpx.post(f"{server.http}/v1/models/{server.name}:predict", json={"instances": batch})
    assert response.status_code == 400
    assert response.json()["error"] == "instances[33].time_on_site: expected a number >= 0, got -5"

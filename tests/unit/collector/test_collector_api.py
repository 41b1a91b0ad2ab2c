"""The collector's HTTP API through FastAPI's TestClient, on the database ``store_url`` names.

This module is the shared suite: here ``store_url`` is a SQLite file (conftest.py beside it);
tests/integration/collector/test_collector_api_db.py imports these tests and runs them
again on SQLite and on a real PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadscore.api.summary import ExperimentSummary
from leadscore.collector.app import create_app
from leadscore.collector.outcomes import OUTCOMES_PATH
from leadscore.errors import DatasetError
from leadscore.store.events import EventStore, InferenceEvent, Outcome, Prediction, open_store
from unit.collector.kserve_logger import headers, request_body, response_body, scored


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


@pytest.fixture
def client(store: EventStore) -> Iterator[TestClient]:
    with TestClient(create_app(store)) as test_client:
        yield test_client


OUTCOMES = OUTCOMES_PATH.format(namespace="sales")
LEADS = "/v1/namespaces/sales/leads"


def _count(store: EventStore, model: type[Any]) -> int:
    with store.transaction() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def _predictions(store: EventStore) -> list[Prediction]:
    with store.transaction() as session:
        return list(session.scalars(select(Prediction).order_by(Prediction.event_id, Prediction.idx)))


def _post_event(client: TestClient, event_id: str, kind: str, body: bytes, **kw: Any) -> Any:
    return client.post("/v1/events", headers=headers(event_id, kind, **kw), content=body)


def _outcome(lead_id: str, converted: bool = True, **fields: Any) -> dict[str, Any]:
    return {"lead_id": lead_id, "converted": converted, "occurred_at": "2026-01-02T10:00:00Z", **fields}


# --- health and metrics -------------------------------------------------------------------


def test_healthz_answers_ok_when_store_is_open(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_metrics_count_events_and_outcomes_when_posted(client: TestClient) -> None:
    _post_event(client, "m1", "response", response_body(scored("L1"), scored("L2")))
    client.post(OUTCOMES, json=_outcome("L1"))
    text = client.get("/metrics").text
    assert 'leadscore_collector_events_total{type="response"} 1.0' in text
    assert "leadscore_collector_predictions_stored_total 2.0" in text
    assert 'leadscore_collector_outcomes_total{result="stored"} 1.0' in text


def test_metrics_count_refusals_by_route(client: TestClient) -> None:
    client.post(OUTCOMES, json={"lead_id": "L1"})
    text = client.get("/metrics").text
    assert 'leadscore_collector_rejected_total{endpoint="/v1/namespaces/{namespace}/outcomes"} 1.0' in text


def test_openapi_documents_the_outcome_body(client: TestClient) -> None:
    body = client.get("/openapi.json").json()["paths"][OUTCOMES_PATH]["post"]["requestBody"]
    shapes = body["content"]["application/json"]["schema"]["oneOf"]
    assert shapes[0]["required"] == ["lead_id", "converted", "occurred_at"]


# --- events: KServe's logger, binary mode --------------------------------------------------


def test_events_store_one_prediction_per_lead_when_request_then_response(client: TestClient, store: EventStore) -> None:
    first = _post_event(client, "e1", "request", request_body("L1", "L2"))
    second = _post_event(client, "e1", "response", response_body(scored("L1", 0.91), scored("L2", 0.35)))
    assert first.status_code == 200, first.text
    assert second.json()["predictions_stored"] == 2
    rows = _predictions(store)
    assert [(r.lead_id, r.idx, r.probability) for r in rows] == [("L1", 0, 0.91), ("L2", 1, 0.35)]
    assert rows[0].features is not None and rows[0].features["pages_viewed"] == 7
    assert (rows[0].namespace, rows[0].inference_service, rows[0].model_version) == (
        "sales",
        "lead-model",
        "v3",
    )
    assert (rows[0].tier, rows[0].score, rows[0].action) == ("high", 91, "immediate_assignment")


def test_events_attach_features_when_response_arrives_before_request(client: TestClient, store: EventStore) -> None:
    _post_event(client, "e2", "response", response_body(scored("L1"), scored("L2")))
    assert all(r.features is None for r in _predictions(store))
    late = _post_event(client, "e2", "request", request_body("L1", "L2"))
    assert late.json()["features_attached"] == 2
    assert [r.features["lead_id"] for r in _predictions(store)] == ["L1", "L2"]


def test_events_change_nothing_when_both_halves_are_redelivered(client: TestClient, store: EventStore) -> None:
    for _ in range(2):
        _post_event(client, "e3", "request", request_body("L1"))
        last = _post_event(client, "e3", "response", response_body(scored("L1")))
    assert last.json() == {
        "id": "e3",
        "kind": "response",
        "predictions_stored": 0,
        "features_attached": 0,
        "duplicate": True,
        "features_mismatched": 0,
    }
    assert _count(store, Prediction) == 1
    assert _count(store, InferenceEvent) == 1


def test_events_are_accepted_at_the_root_path_too(client: TestClient, store: EventStore) -> None:
    reply = client.post("/", headers=headers("root", "response"), content=response_body(scored("L1")))
    assert reply.status_code == 200, reply.text
    assert _count(store, Prediction) == 1


@pytest.mark.parametrize("order", [("request", "response"), ("response", "request")])
def test_events_keep_features_only_on_predictions_once_paired(
    client: TestClient, store: EventStore, order: tuple[str, str]
) -> None:
    bodies = {"request": request_body("L1"), "response": response_body(scored("L1"))}
    for kind in order:
        _post_event(client, "once", kind, bodies[kind])
    with store.transaction() as session:
        event = session.scalars(select(InferenceEvent)).one()
    assert event.request_instances is None
    assert event.request_received_at is not None and event.response_received_at is not None
    assert _predictions(store)[0].features is not None


def test_events_keep_both_services_apart_when_a_caller_reuses_one_ce_id(client: TestClient, store: EventStore) -> None:
    for isvc, lead_id in (("pc-model", "P1"), ("health-model", "H1")):
        _post_event(client, "crm-req-7", "request", request_body(lead_id), isvc=isvc)
        reply = _post_event(client, "crm-req-7", "response", response_body(scored(lead_id)), isvc=isvc)
        assert reply.json()["predictions_stored"] == 1
    rows = {(r.inference_service, r.lead_id, r.features["lead_id"]) for r in _predictions(store)}
    assert rows == {("pc-model", "P1", "P1"), ("health-model", "H1", "H1")}


def test_events_use_ce_time_as_prediction_time_when_given(client: TestClient, store: EventStore) -> None:
    _post_event(client, "e4", "response", response_body(scored("L1")), time="2024-05-06T07:08:09Z")
    assert _predictions(store)[0].predicted_at.isoformat() == "2024-05-06T07:08:09+00:00"


def test_events_pair_features_by_lead_id_when_request_and_response_sizes_differ(
    client: TestClient, store: EventStore
) -> None:
    _post_event(client, "e5", "request", request_body("L1", "L2", "L3"))
    _post_event(client, "e5", "response", response_body(scored("L2")))
    assert [r.features["lead_id"] for r in _predictions(store)] == ["L2"]


def test_events_take_experiment_from_isvc_annotation_and_arm_from_response(
    client: TestClient, store: EventStore
) -> None:
    _post_event(client, "e6", "response", response_body(scored("L1", arm="treatment")), experiment="ab-q3")
    row = _predictions(store)[0]
    assert (row.experiment, row.arm) == ("ab-q3", "treatment")


def test_events_map_canary_endpoint_to_treatment_when_response_has_no_arm(
    client: TestClient, store: EventStore
) -> None:
    _post_event(client, "e7", "response", response_body(scored("L1")), experiment="ab", endpoint="canary")
    _post_event(client, "e8", "response", response_body(scored("L2")), experiment="ab", endpoint="default")
    assert [(r.lead_id, r.arm) for r in _predictions(store)] == [("L1", "treatment"), ("L2", "control")]


def test_events_store_no_experiment_when_none_is_named(client: TestClient, store: EventStore) -> None:
    _post_event(client, "e9", "response", response_body(scored("L1")))
    row = _predictions(store)[0]
    assert (row.experiment, row.arm) == (None, None)


def test_events_accept_percent_encoded_annotations(client: TestClient, store: EventStore) -> None:
    sent = headers("e10", "response")
    sent["Ce-Annotations"] = "%7B%22leadscoring.io/experiment%22:%22ab%20x%22%7D"
    client.post("/v1/events", headers=sent, content=response_body(scored("L1", arm="control")))
    assert _predictions(store)[0].experiment == "ab x"


def test_events_accept_v2_infer_request_and_response(client: TestClient, store: EventStore) -> None:
    request = {
        "inputs": [
            {"name": "lead_id", "shape": [2], "datatype": "BYTES", "data": ["L1", "L2"]},
            {"name": "pages_viewed", "shape": [2, 1], "datatype": "INT64", "data": [[3], [9]]},
        ]
    }
    response = {
        "model_name": "lead-model",
        "model_version": "v7",
        "outputs": [
            {"name": "lead_id", "shape": [2], "datatype": "BYTES", "data": ["L1", "L2"]},
            {"name": "probability", "shape": [2], "datatype": "FP64", "data": [0.2, 0.9]},
            {"name": "tier", "shape": [2], "datatype": "BYTES", "data": ["very_low", "high"]},
        ],
    }
    _post_event(client, "v2", "request", json.dumps(request).encode())
    reply = _post_event(client, "v2", "response", json.dumps(response).encode())
    assert reply.status_code == 200, reply.text
    rows = _predictions(store)
    assert [(r.lead_id, r.probability, r.tier, r.model_version) for r in rows] == [
        ("L1", 0.2, "very_low", "v7"),
        ("L2", 0.9, "high", "v7"),
    ]
    assert rows[1].features == {"lead_id": "L2", "pages_viewed": 9}


def test_events_count_explain_responses_as_scored_leads(client: TestClient, store: EventStore) -> None:
    explained = {**scored("L1", arm="control"), "unit": "log-odds", "top_factors": [{"feature": "source"}]}
    _post_event(client, "x1", "request", request_body("L1"))
    reply = _post_event(client, "x1", "response", json.dumps({"explanations": [explained]}).encode())
    assert reply.json()["predictions_stored"] == 1
    assert [(r.lead_id, r.arm, r.features is not None) for r in _predictions(store)] == [("L1", "control", True)]


def test_events_accept_v2_request_of_json_records(client: TestClient, store: EventStore) -> None:
    records = [json.dumps({"lead_id": "L1", "source": "referral"})]
    request = {"inputs": [{"name": "records", "shape": [1], "datatype": "BYTES", "data": records}]}
    _post_event(client, "v2r", "request", json.dumps(request).encode())
    _post_event(client, "v2r", "response", response_body(scored("L1")))
    assert _predictions(store)[0].features == {"lead_id": "L1", "source": "referral"}


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        ("Ce-Type", "com.example.other", "ce-type"),
        ("Ce-Specversion", "0.3", "ce-specversion"),
        ("Ce-Id", "", "ce-id"),
        ("Ce-Namespace", "", "ce-namespace"),
        ("Ce-Annotations", "{not json", "ce-annotations"),
        ("Ce-Metadata", "[1, 2]", "ce-metadata"),
    ],
)
def test_events_refuse_with_header_name_when_an_attribute_is_bad(
    client: TestClient, store: EventStore, header: str, value: str, expected: str
) -> None:
    sent = headers("bad", "response")
    sent[header] = value
    response = client.post("/v1/events", headers=sent, content=response_body(scored("L1")))
    assert response.status_code == 400
    assert response.json()["error"].startswith(expected)
    assert _count(store, Prediction) == 0


def _structured(event_id: str, kind: str, data: Any = None, **attributes: Any) -> dict[str, Any]:
    """The structured-mode envelope of one half: the binary headers' attributes as keys."""
    envelope = {name.lower().removeprefix("ce-"): value
                for name, value in headers(event_id, kind).items() if name.lower().startswith("ce-")}
    if data is not None:
        envelope["data"] = data
    return {**envelope, **attributes}


STRUCTURED = {"Content-Type": "application/cloudevents+json"}


def test_events_are_read_in_structured_mode_too(client: TestClient, store: EventStore) -> None:
    request = _structured("s1", "request", json.loads(request_body("L1", "L2")), time="2026-01-05T09:00:00Z")
    response = _structured("s1", "response", json.loads(response_body(scored("L1"), scored("L2"))))
    assert client.post("/v1/events", json=request, headers=STRUCTURED).status_code == 200
    answer = client.post("/v1/events", json=response, headers=STRUCTURED)
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions_stored"] == 2 and answer.json()["features_mismatched"] == 0
    assert [p.features["lead_id"] for p in _predictions(store)] == ["L1", "L2"]  # type: ignore[index]


def test_structured_events_carry_data_base64_too(client: TestClient, store: EventStore) -> None:
    import base64

    encoded = base64.b64encode(response_body(scored("L9"))).decode()
    answer = client.post("/v1/events", json=_structured("s64", "response", data_base64=encoded), headers=STRUCTURED)
    assert answer.status_code == 200, answer.text
    assert [p.lead_id for p in _predictions(store)] == ["L9"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (json.dumps({k: v for k, v in _structured("s", "response", {"x": 1}).items() if k != "id"}),
         "id: Field required"),
        (json.dumps({k: v for k, v in _structured("s", "response", {"x": 1}).items() if k != "source"}),
         "source: Field required"),
        (json.dumps(_structured("s", "response", {"x": 1}, specversion="0.3")), "specversion: Input should be '1.0'"),
        (json.dumps(_structured("s", "response", {"x": 1}, namespace="")), "namespace: String should have at least"),
        (json.dumps(_structured("s", "response", {"x": 1}, time="2999-01-01T00:00:00Z")),
         "time: Value error, must lie between"),
        (json.dumps(_structured("s", "response")), "data: an event without data"),
        (json.dumps(_structured("s", "response", data_base64="not base64!")), "body: not a CloudEvent"),
        ("[" * 100_000 + "]" * 100_000, "body: JSON nested too deeply"),
        ('{"id": 1' + "0" * 5000 + "}", "body: a number is out of range"),
        ("[1, 2]", "body: expected a CloudEvent JSON object"),
    ],
)
def test_structured_events_are_refused_naming_the_attribute(
    client: TestClient, store: EventStore, content: str, expected: str
) -> None:
    reply = client.post("/v1/events", content=content.encode(), headers=STRUCTURED)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"].startswith(expected), reply.json()
    assert _count(store, InferenceEvent) == 0


def test_a_binary_event_without_ce_time_gets_no_invented_time(store: EventStore) -> None:
    """The SDK's CloudEvent fills in a missing time with its own clock; we keep it absent."""
    from leadscore.collector.cloudevents import parse_event

    context, body = parse_event(headers("t", "request"), request_body("L1"))
    assert context.time is None and body == request_body("L1")
    assert parse_event(headers("t", "request", time="2026-01-05T09:00:00Z"), b"{}")[0].time is not None


@pytest.mark.parametrize("missing", ["Ce-Id", "Ce-Type", "Ce-Source", "Ce-Inferenceservicename", "Ce-Namespace"])
def test_events_refuse_with_header_name_when_a_required_attribute_is_missing(client: TestClient, missing: str) -> None:
    sent = headers("bad", "response")
    del sent[missing]
    response = client.post("/v1/events", headers=sent, content=response_body(scored("L1")))
    assert response.status_code == 400
    assert response.json()["error"] == f"{missing.lower()}: Field required"


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        ("request", b"", "body: empty"),
        ("request", b"{oops", "body: not valid JSON"),
        ("request", b"[1, 2]", "body: expected a JSON object"),
        ("request", b'{"instances": []}', "instances: List should have at least 1 item"),
        ("request", b'{"instances": [1]}', "instances[0]: Input should be a valid dictionary"),
        ("request", b'{"rows": []}', "body: expected 'instances' (V1) or 'inputs' (V2"),
        ("response", b'{"scores": []}', "body: expected 'predictions' or 'explanations' (V1)"),
        (
            "response",
            b'{"predictions": [{"probability": 0.5, "model_version": "v1"}]}',
            "predictions[0].lead_id: Field required",
        ),
        (
            "response",
            b'{"predictions": [{"lead_id": "L1", "probability": 1.5, "model_version": "v1"}]}',
            "predictions[0].probability: Input should be less than or equal to 1",
        ),
        (
            "response",
            b'{"predictions": [{"lead_id": "L1", "probability": 0.5}]}',
            "predictions[0].model_version: Field required",
        ),
        (
            "response",
            b'{"outputs": [{"name": "lead_id", "shape": [2], "datatype": "BYTES", "data": ["a"]}]}',
            "outputs[0] (lead_id): expected 2 values",
        ),
    ],
)
def test_events_refuse_with_field_path_when_body_is_bad(
    client: TestClient, store: EventStore, kind: str, body: bytes, expected: str
) -> None:
    response = _post_event(client, "bad-body", kind, body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(expected), response.json()
    assert _count(store, InferenceEvent) == 0


def test_events_store_nothing_when_one_lead_of_a_batch_is_bad(client: TestClient, store: EventStore) -> None:
    bad = scored("L2")
    bad["probability"] = "high"
    response = _post_event(client, "partial", "response", response_body(scored("L1"), bad))
    assert response.status_code == 400
    assert "predictions[1].probability" in response.json()["error"]
    assert (_count(store, Prediction), _count(store, InferenceEvent)) == (0, 0)


# --- outcomes ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["object", "list", "wrapped"])
def test_outcomes_accept_object_list_and_wrapped_batch(client: TestClient, store: EventStore, shape: str) -> None:
    one = _outcome("L1", value=1200.0)
    body = {"object": one, "list": [one], "wrapped": {"outcomes": [one]}}[shape]
    response = client.post(OUTCOMES, json=body)
    assert response.json() == {"received": 1, "stored": 1, "duplicates": 0}
    with store.transaction() as session:
        stored = session.scalars(select(Outcome)).one()
    assert (stored.lead_id, stored.converted, stored.value) == ("L1", True, 1200.0)
    assert stored.occurred_at.isoformat() == "2026-01-02T10:00:00+00:00"


def test_outcomes_change_nothing_when_resent_without_key(client: TestClient, store: EventStore) -> None:
    batch = [_outcome("L1"), _outcome("L2", converted=False)]
    client.post(OUTCOMES, json=batch)
    again = client.post(OUTCOMES, json=batch)
    assert again.json() == {"received": 2, "stored": 0, "duplicates": 2}
    assert _count(store, Outcome) == 2


def test_outcomes_keep_first_version_when_same_key_is_resent_with_other_content(
    client: TestClient, store: EventStore
) -> None:
    client.post(OUTCOMES, json=_outcome("L1", idempotency_key="crm-42", value=10.0))
    client.post(OUTCOMES, json=_outcome("L1", idempotency_key="crm-42", value=99.0))
    with store.transaction() as session:
        assert session.scalars(select(Outcome.value)).all() == [10.0]


def test_outcomes_store_one_row_when_a_batch_repeats_a_key(client: TestClient, store: EventStore) -> None:
    response = client.post(OUTCOMES, json=[_outcome("L1"), _outcome("L1")])
    assert response.json() == {"received": 2, "stored": 1, "duplicates": 1}


def test_outcomes_read_naive_time_as_utc(client: TestClient, store: EventStore) -> None:
    client.post(OUTCOMES, json=_outcome("L1", occurred_at="2025-03-04T05:06:07"))
    with store.transaction() as session:
        assert session.scalars(select(Outcome)).one().occurred_at.isoformat() == "2025-03-04T05:06:07+00:00"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"converted": True, "occurred_at": "2026-01-01T00:00:00Z"}, "lead_id: Field required"),
        (_outcome("L1", converted="perhaps"), "converted: Input should be a valid boolean"),
        (_outcome("L1", occurred_at="last tuesday"), "occurred_at: Input should be a valid datetime"),
        (_outcome("L1", value="lots"), "value: Input should be a valid number"),
        (_outcome("L1", convertd=True), "convertd: Extra inputs are not permitted"),
        (_outcome("L1", first_contacted_at="soon"), "first_contacted_at: Input should be a valid datetime"),
        (_outcome("L1", first_contacted_at="2999-01-01T00:00:00Z"), "first_contacted_at: Value error, must lie"),
        (_outcome("L1", accepted="yes"), "accepted: Input should be a valid boolean"),
        (_outcome("", converted=True), "lead_id: String should have at least 1 character"),
        (
            [_outcome("L1"), _outcome("L2", converted=None)],
            "outcomes[1].converted: Input should be a valid boolean",
        ),
        ({"outcomes": "L1"}, "outcomes: expected a list"),
        ({"outcomes": [], "source": "crm"}, "body: unexpected field(s) ['source']"),
        ([], "outcomes: empty batch"),
        ("L1", "body: expected an outcome, a list or"),
    ],
)
def test_outcomes_refuse_with_field_path_when_payload_is_bad(
    client: TestClient, store: EventStore, body: Any, expected: str
) -> None:
    response = client.post(OUTCOMES, json=body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(expected), response.json()
    assert _count(store, Outcome) == 0


def test_outcomes_store_first_contact_and_acceptance_once_when_resent(client: TestClient, store: EventStore) -> None:
    reported = _outcome("L1", converted=False, first_contacted_at="2026-01-02T09:30:00+01:00", accepted=True)
    assert client.post(OUTCOMES, json=reported).json() == {"received": 1, "stored": 1, "duplicates": 0}
    assert client.post(OUTCOMES, json=reported).json() == {"received": 1, "stored": 0, "duplicates": 1}
    with store.transaction() as session:
        stored = session.scalars(select(Outcome)).one()
    assert (stored.first_contacted_at.isoformat(), stored.accepted) == ("2026-01-02T08:30:00+00:00", True)
    refused = client.post(OUTCOMES, json={**reported, "accepted": False})  # same lead and time, other content
    assert refused.status_code == 409 and "L1" in refused.json()["error"]
    history = client.get(f"{LEADS}/L1").json()
    assert [(o["first_contacted_at"], o["accepted"]) for o in history["outcomes"]] == [
        ("2026-01-02T08:30:00Z", True)]


def test_tiers_report_first_contacts_against_the_sla_the_response_gave(client: TestClient) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    two_hours_ago = (now - timedelta(hours=2)).isoformat()
    body = response_body({**scored("F1", 0.9), "sla": "30m"}, {**scored("F2", 0.9), "sla": "30m"},
                         {**scored("S1", 0.2), "sla": "1d"})
    _post_event(client, "t1", "response", body, time=two_hours_ago)
    client.post(OUTCOMES, json=[
        _outcome("F1", converted=False, occurred_at=now.isoformat(),
                 first_contacted_at=(now - timedelta(hours=1, minutes=45)).isoformat()),  # 15 min after
        _outcome("F2", converted=False, occurred_at=now.isoformat(),
                 first_contacted_at=(now - timedelta(hours=1)).isoformat()),              # 60 min after
    ])
    response = client.get("/v1/models/sales/lead-model/tiers")
    assert response.status_code == 200, response.text
    tiers = {t["tier"]: t for t in response.json()["tiers"]}
    high, low = tiers["high"], tiers["low"]
    assert (high["leads"], high["sla_seconds"], high["contacted"], high["sla_met"], high["sla_due"]) == (
        2, 1800.0, 2, 1, 2)
    assert (high["sla_met_share"], high["median_hours_to_first_contact"]) == (0.5, pytest.approx(0.625))
    assert (low["sla_seconds"], low["contacted"], low["sla_due"], low["sla_met_share"]) == (86400.0, 0, 0, None)


def test_outcomes_refuse_when_body_is_not_json(client: TestClient) -> None:
    response = client.post(OUTCOMES, content=b"lead_id=L1", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("body: not valid JSON")


def test_outcomes_refuse_nan_value(client: TestClient) -> None:
    response = client.post(
        OUTCOMES,
        content=b'{"lead_id": "L1", "converted": true, "value": NaN, "occurred_at": "2026-01-01T00:00:00Z"}',
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("value: Input should be a finite number")


# --- summary -------------------------------------------------------------------------------


def _summary(client: TestClient, name: str = "ab", params: dict[str, str] | None = None) -> ExperimentSummary:
    response = client.get(f"/v1/experiments/sales/{name}/summary", params=params)
    assert response.status_code == 200, response.text
    return ExperimentSummary.model_validate(response.json())


def test_summary_counts_exposures_conversions_and_values_per_arm(client: TestClient) -> None:
    when = "2024-01-01T09:00:00Z"
    _post_event(
        client,
        "s1",
        "response",
        response_body(
            scored("A1", arm="control", version="v1"),
            scored("A2", arm="control", version="v1"),
            scored("B1", arm="treatment", version="v2"),
        ),
        experiment="ab",
        time=when,
    )
    client.post(
        OUTCOMES,
        json=[
            _outcome("A1", value=100.0),
            _outcome("A2", converted=False),
            _outcome("B1", value=30.0),
            _outcome("B1", value=20.0, idempotency_key="up"),
        ],
    )
    summary = _summary(client)
    control, treatment = summary.arms["control"], summary.arms["treatment"]
    assert (control.exposures, control.conversions, control.value_sum, control.value_sum_sq) == (
        2,
        1,
        100.0,
        1e4,
    )
    assert (treatment.exposures, treatment.conversions, treatment.value_sum, treatment.value_sum_sq) == (
        1,
        1,
        50.0,
        2500.0,
    )
    assert (control.model_version, treatment.model_version) == ("v1", "v2")
    assert [(d.day.isoformat(), d.arm, d.exposures, d.conversions) for d in summary.daily] == [
        ("2024-01-01", "control", 2, 1),
        ("2024-01-01", "treatment", 1, 1),
    ]


def test_summary_adds_up_the_control_models_score_per_arm_and_day(client: TestClient) -> None:
    def covariate(entry: dict[str, object], control_probability: float) -> dict[str, object]:
        return {**entry, "control_probability": control_probability}

    _post_event(
        client,
        "c1",
        "response",
        response_body(
            covariate(scored("A1", 0.2, arm="control", version="v1"), 0.2),
            covariate(scored("A2", 0.4, arm="control", version="v1"), 0.4),
            covariate(scored("B1", 0.9, arm="treatment", version="v2"), 0.5),
        ),
        experiment="ab",
        time="2024-01-01T09:00:00Z",
    )
    client.post(OUTCOMES, json=[_outcome("A2"), _outcome("B1")])
    summary = _summary(client)
    control, treatment = summary.arms["control"], summary.arms["treatment"]
    assert control.covariate_count == 2
    assert control.covariate_sum == pytest.approx(0.6)
    assert control.covariate_sum_sq == pytest.approx(0.2)
    assert control.covariate_conversion_sum == pytest.approx(0.4)
    assert (treatment.covariate_count, treatment.covariate_sum, treatment.covariate_conversion_sum) == (1, 0.5, 0.5)
    assert [(d.arm, d.covariate_count, d.covariate_sum) for d in summary.daily] == [
        ("control", 2, pytest.approx(0.6)),
        ("treatment", 1, 0.5),
    ]


def test_summary_counts_no_covariate_for_predictions_without_one(client: TestClient) -> None:
    _post_event(client, "c2", "response", response_body(scored("A1", arm="control")), experiment="ab")
    control = _summary(client).arms["control"]
    assert (control.exposures, control.covariate_count, control.covariate_sum) == (1, 0, 0.0)


def test_summary_joins_outcome_posted_before_its_prediction(client: TestClient) -> None:
    client.post(OUTCOMES, json=_outcome("L9"))
    assert _summary(client).arms["treatment"].conversions == 0
    _post_event(
        client,
        "late",
        "response",
        response_body(scored("L9", arm="treatment")),
        experiment="ab",
        time="2024-01-01T00:00:00Z",
    )
    assert _summary(client).arms["treatment"].conversions == 1


def test_summary_ignores_conversion_that_occurred_before_exposure(client: TestClient) -> None:
    _post_event(
        client,
        "pre",
        "response",
        response_body(scored("L1", arm="control")),
        experiment="ab",
        time="2024-06-01T00:00:00Z",
    )
    client.post(OUTCOMES, json=_outcome("L1", occurred_at="2024-05-31T23:59:59Z"))
    control = _summary(client).arms["control"]
    assert (control.exposures, control.conversions) == (1, 0)


def test_summary_counts_a_rescored_lead_once_in_its_first_arm(client: TestClient) -> None:
    _post_event(
        client,
        "r1",
        "response",
        response_body(scored("L1", arm="control")),
        experiment="ab",
        time="2024-01-01T00:00:00Z",
    )
    _post_event(
        client,
        "r2",
        "response",
        response_body(scored("L1", arm="treatment")),
        experiment="ab",
        time="2024-01-02T00:00:00Z",
    )
    arms = _summary(client).arms
    assert (arms["control"].exposures, arms["treatment"].exposures) == (1, 0)


def test_summary_is_empty_for_an_experiment_without_traffic(client: TestClient) -> None:
    _post_event(client, "other", "response", response_body(scored("L1", arm="control")), experiment="ab")
    summary = _summary(client, name="nothing-yet")
    assert summary.experiment == "nothing-yet"
    assert {arm: s.exposures for arm, s in summary.arms.items()} == {"control": 0, "treatment": 0}
    assert summary.daily == []


def test_summary_keeps_namespaces_apart(client: TestClient) -> None:
    _post_event(
        client,
        "n1",
        "response",
        response_body(scored("L1", arm="control")),
        experiment="ab",
        namespace="marketing",
    )
    assert _summary(client).arms["control"].exposures == 0


CANARY_SPLIT = {"service": "lead-model", "control_version": "v1", "treatment_version": "v2",
                "since": "2024-01-01T00:00:00Z"}


def test_summary_counts_a_canary_split_by_service_and_version_when_the_control_tags_nothing(
    client: TestClient,
) -> None:
    # the control revision predates the experiment: its logger names neither experiment nor arm
    control = response_body(scored("A1", version="v1"), scored("A2", version="v1"))
    _post_event(client, "c1", "response", control, time="2024-01-01T10:00:00Z")
    canary = response_body(scored("B1", version="v2"))
    _post_event(client, "t1", "response", canary, experiment="ab", endpoint="canary", time="2024-01-01T10:05:00Z")
    # not counted: before the split, another inference service, a third version
    _post_event(client, "old", "response", response_body(scored("A0", version="v1")), time="2029-12-31T23:00:00Z")
    elsewhere = response_body(scored("X1", version="v1"))
    _post_event(client, "x", "response", elsewhere, isvc="other-model", time="2024-01-01T11:00:00Z")
    _post_event(client, "z", "response", response_body(scored("Z1", version="v0")), time="2024-01-01T11:00:00Z")
    client.post(OUTCOMES, json=[_outcome("A1"), _outcome("B1", value=10.0), _outcome("A0"), _outcome("X1")])

    arms = _summary(client, params=CANARY_SPLIT).arms
    assert (arms["control"].exposures, arms["control"].conversions, arms["control"].model_version) == (2, 1, "v1")
    assert (arms["treatment"].exposures, arms["treatment"].conversions, arms["treatment"].value_sum) == (1, 1, 10.0)
    tagged = _summary(client).arms  # by experiment tags alone the control would look empty
    assert (tagged["control"].exposures, tagged["treatment"].exposures) == (0, 1)


def test_summary_refuses_a_partial_split_naming_the_missing_parameter(client: TestClient) -> None:
    params = {"service": "lead-model", "since": "2024-01-01T00:00:00Z", "treatment_version": "v2"}
    response = client.get("/v1/experiments/sales/ab/summary", params=params)
    assert response.status_code == 400
    assert response.json()["error"] == "query.control_version: Field required"


def test_summary_counts_lead_acceptance_per_arm(client: TestClient) -> None:
    body = response_body(scored("A1", arm="control", version="v1"), scored("A2", arm="control", version="v1"),
                         scored("B1", arm="treatment", version="v2"))
    _post_event(client, "acc", "response", body, experiment="ab", time="2024-01-01T09:00:00Z")
    client.post(OUTCOMES, json=[_outcome("A1", converted=False, accepted=True),
                                _outcome("A2", converted=False, accepted=False), _outcome("B1")])
    arms = _summary(client).arms
    assert (arms["control"].acceptance_reports, arms["control"].accepted) == (2, 1)
    assert (arms["treatment"].acceptance_reports, arms["treatment"].acceptance_rate()) == (0, None)


# --- one lead's history ----------------------------------------------------------------------


def test_lead_history_lists_predictions_newest_first_and_outcomes(client: TestClient) -> None:
    _post_event(client, "h1", "response", response_body(scored("L7", 0.41, version="v1")), time="2024-01-01T09:00:00Z")
    later = response_body(scored("L7", 0.83, version="v2", arm="treatment"))
    _post_event(client, "h2", "response", later, experiment="ab", time="2024-01-05T09:00:00Z")
    _post_event(client, "h3", "response", response_body(scored("L8", version="v2")), time="2024-01-06T09:00:00Z")
    client.post(OUTCOMES, json=[_outcome("L7", value=1200.0)])
    response = client.get(f"{LEADS}/L7")
    assert response.status_code == 200, response.text
    history = response.json()
    assert history["lead_id"] == "L7"
    assert [(p["model_version"], p["probability"], p["arm"], p["experiment"]) for p in history["predictions"]] == [
        ("v2", 0.83, "treatment", "ab"),
        ("v1", 0.41, None, None),
    ]
    assert [(o["converted"], o["value"]) for o in history["outcomes"]] == [(True, 1200.0)]
    assert len(client.get(f"{LEADS}/L7", params={"limit": 1}).json()["predictions"]) == 1


def test_lead_history_answers_404_naming_an_unknown_lead(client: TestClient) -> None:
    response = client.get(f"{LEADS}/nobody")
    assert response.status_code == 404
    assert response.json()["error"] == "lead_id 'nobody': no prediction or outcome recorded in namespace 'sales'"
    assert client.get(f"{LEADS}/L1", params={"limit": 0}).status_code == 400


# --- tenants: namespaces (and models) never mix ------------------------------------------------


def _scored_in(client: TestClient, namespace: str, isvc: str = "lead-model", lead_id: str = "12345") -> None:
    """``lead_id`` (with its features) scored in ``namespace`` by ``isvc``, in experiment "ab"."""
    for kind, body in (("request", request_body(lead_id)), ("response", response_body(scored(lead_id, arm="control")))):
        _post_event(client, f"{namespace}-{isvc}", kind, body, namespace=namespace, isvc=isvc, experiment="ab",
                    time="2024-01-01T09:00:00Z")


def test_two_namespaces_with_colliding_lead_ids_keep_outcomes_histories_and_exports_apart(
        client: TestClient, store: EventStore, tmp_path: Any) -> None:
    import pandas as pd

    from leadscore.collector.export import export_training_set

    _scored_in(client, "sales")
    _scored_in(client, "marketing")
    posted = client.post(OUTCOMES, json=_outcome("12345", value=500.0, occurred_at="2024-01-02T00:00:00Z"))
    assert posted.json()["stored"] == 1

    def summary(namespace: str) -> Any:
        return client.get(f"/v1/experiments/{namespace}/ab/summary").json()["arms"]["control"]

    assert (summary("sales")["exposures"], summary("sales")["conversions"]) == (1, 1)
    assert (summary("marketing")["exposures"], summary("marketing")["conversions"]) == (1, 0)
    assert len(client.get("/v1/namespaces/sales/leads/12345").json()["outcomes"]) == 1
    assert client.get("/v1/namespaces/marketing/leads/12345").json()["outcomes"] == []
    since = datetime(2023, 1, 1, tzinfo=UTC)
    report = export_training_set(store, since, str(tmp_path / "sales.parquet"), "sales")
    assert (report.rows, report.converted) == (1, 1)
    assert pd.read_parquet(tmp_path / "sales.parquet")["converted"].tolist() == [1]
    with pytest.raises(DatasetError, match="--namespace marketing: no scored lead"):
        export_training_set(store, since, str(tmp_path / "marketing.parquet"), "marketing")
    # the same idempotency key in another namespace is another outcome, not a duplicate
    again = client.post(OUTCOMES_PATH.format(namespace="marketing"),
                        json=_outcome("12345", converted=False, occurred_at="2024-01-02T00:00:00Z"))
    keyed = [client.post(OUTCOMES_PATH.format(namespace=ns), json=_outcome("9", idempotency_key="crm-1")).json()
             for ns in ("sales", "marketing")]
    assert again.json()["stored"] == 1 and [k["stored"] for k in keyed] == [1, 1]
    assert summary("marketing")["conversions"] == 0


def test_an_outcome_naming_its_model_counts_only_for_that_model(client: TestClient) -> None:
    _scored_in(client, "sales", isvc="pc-leads")
    _scored_in(client, "sales", isvc="health-leads")
    client.post(OUTCOMES, json=_outcome("12345", model="pc-leads", occurred_at="2024-01-02T00:00:00Z"))
    conversions = client.get("/v1/experiments/sales/ab/summary").json()["arms"]["control"]["conversions"]
    assert conversions == 1  # one lead (first exposure), converted for pc-leads
    pc = client.get(f"{LEADS}/12345", params={"model": "pc-leads"}).json()
    health = client.get(f"{LEADS}/12345", params={"model": "health-leads"}).json()
    assert (len(pc["outcomes"]), len(pc["predictions"])) == (1, 1)
    assert (health["outcomes"], len(health["predictions"])) == ([], 1)


def test_requests_that_name_no_namespace_are_refused_saying_how_to_name_it(client: TestClient,
                                                                         store: EventStore) -> None:
    posted = client.post("/v1/outcomes", json=_outcome("L1"))
    assert posted.status_code == 400
    assert posted.json()["error"].startswith(
        "namespace: required; post outcomes to /v1/namespaces/{namespace}/outcomes")
    read = client.get("/v1/leads/L1")
    assert read.status_code == 400
    assert read.json()["error"].startswith("namespace: required; ask for /v1/namespaces/{namespace}/leads/L1")
    assert client.post("/v1/namespaces/Not_A_Namespace/outcomes", json=_outcome("L1")).status_code == 400
    assert _count(store, Outcome) == 0


# --- personal data: dropped or hashed per model before storage, and in the export --------------

PRIVACY_ENV = {"LEADSCORE_PRIVACY": json.dumps({"sales/lead-model": {"drop": ["email", "phone"],
                                                                      "hash": ["contact.name"]}}),
               "LEADSCORE_PRIVACY_KEY": "a-secret-of-32-characters-------"}


def _contact_request(lead_id: str) -> bytes:
    record = {"lead_id": lead_id, "source": "web", "email": "ann@example.com", "phone": "+1 555 0100",
              "contact": {"name": "Ann Lee", "title": "CFO"}}
    return json.dumps({"instances": [record]}).encode()


def test_listed_fields_are_dropped_or_hashed_before_storage_for_that_model_only(store: EventStore) -> None:
    from leadscore.collector.privacy import Privacy

    privacy = Privacy.from_env(PRIVACY_ENV)
    with TestClient(create_app(store, privacy)) as private:
        for isvc in ("lead-model", "other-model"):
            for kind, body in (("request", _contact_request("P1")), ("response", response_body(scored("P1")))):
                assert _post_event(private, f"p-{isvc}", kind, body, isvc=isvc).status_code == 200
    features = {p.inference_service: p.features for p in _predictions(store)}
    kept = features["lead-model"]
    assert "email" not in kept and "phone" not in kept and kept["source"] == "web"
    assert kept["contact"]["name"] == privacy.hash_value("Ann Lee") != "Ann Lee"
    assert kept["contact"]["name"].startswith("hmac-sha256:") and kept["contact"]["title"] == "CFO"
    assert features["other-model"]["email"] == "ann@example.com"  # another model, no rule


def test_export_applies_the_rules_to_rows_stored_before_them(client: TestClient, store: EventStore,
                                                            tmp_path: Any) -> None:
    import pandas as pd

    from leadscore.collector.export import export_training_set
    from leadscore.collector.privacy import Privacy

    for kind, body in (("request", _contact_request("P2")), ("response", response_body(scored("P2")))):
        _post_event(client, "p2", kind, body, time="2024-01-01T09:00:00Z")
    client.post(OUTCOMES, json=_outcome("P2", occurred_at="2024-01-02T00:00:00Z"))
    privacy = Privacy.from_env(PRIVACY_ENV)
    export_training_set(store, datetime(2023, 1, 1, tzinfo=UTC), str(tmp_path / "x.parquet"), "sales",
                        privacy=privacy)
    frame = pd.read_parquet(tmp_path / "x.parquet")
    assert not {"email", "phone"} & set(frame.columns)
    assert frame["contact.name"].tolist() == [privacy.hash_value("Ann Lee")]


def test_privacy_rules_are_refused_when_malformed_or_without_a_key() -> None:
    from leadscore.collector.privacy import Privacy
    from leadscore.errors import ConfigError

    with pytest.raises(ConfigError, match="LEADSCORE_PRIVACY_KEY: hashing fields needs a secret key"):
        Privacy.from_env({"LEADSCORE_PRIVACY": '{"sales/m": {"hash": ["email"]}}'})
    with pytest.raises(ConfigError, match="key 'sales' must be <namespace>/<model>"):
        Privacy.from_env({"LEADSCORE_PRIVACY": '{"sales": {"drop": ["email"]}}'})
    with pytest.raises(ConfigError, match=r"LEADSCORE_PRIVACY\.sales/m\.remove: Extra inputs are not permitted"):
        Privacy.from_env({"LEADSCORE_PRIVACY": '{"sales/m": {"remove": ["email"]}}'})


# --- rate limit -------------------------------------------------------------------------------------


def test_a_client_over_its_rate_gets_429_with_retry_after(store: EventStore) -> None:
    from leadscore.auth.ratelimit import RateLimiter
    from leadscore.collector.auth import Gate

    gate = Gate(limiter=RateLimiter(rate=0.5, burst=2))
    with TestClient(create_app(store, gate=gate)) as limited:
        answers = [limited.post(OUTCOMES, json=_outcome(f"R{i}")) for i in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["retry-after"]) == 2  # one request per 2 s refills
    assert answers[2].json()["reason"] == "TooManyRequests"


def test_http_metrics_count_requests_by_route_and_status(client: TestClient) -> None:
    client.post(OUTCOMES, json={"lead_id": "L1"})
    client.get(f"{LEADS}/nobody")
    text = client.get("/metrics").text
    outcomes = 'handler="/v1/namespaces/{namespace}/outcomes"'
    leads = 'handler="/v1/namespaces/{namespace}/leads/{lead_id}"'
    assert f'leadscore_collector_http_requests_total{{{outcomes},method="POST",status="4xx"}} 1.0' in text
    assert f'leadscore_collector_http_requests_total{{{leads},method="GET",status="4xx"}} 1.0' in text
    assert f'leadscore_collector_http_request_duration_seconds_bucket{{{outcomes}' in text

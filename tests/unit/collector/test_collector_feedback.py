"""Feedback (explicit reports, implicit sessions) through the collector's HTTP API, its analytics
and its export, on the database ``store_url`` names (a SQLite file here; the integration copy,
tests/integration/collector/test_collector_api_db.py, runs it on PostgreSQL too)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from leadscore.api.feedback import SIGNAL_COLUMNS
from leadscore.collector.app import create_app
from leadscore.collector.export import export_training_set
from leadscore.collector.feedback import ANALYTICS_PATH, FEEDBACK_PATH, IMPLICIT_PATH
from leadscore.collector.outcomes import OUTCOMES_PATH
from leadscore.store.events import EventStore, Feedback, open_store
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


FEEDBACK = FEEDBACK_PATH.format(namespace="sales")
IMPLICIT = IMPLICIT_PATH.format(namespace="sales")
ANALYTICS = ANALYTICS_PATH.format(namespace="sales")
NOW = datetime.now(UTC).replace(microsecond=0)


def _at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def _report(lead_id: str, action: str = "view", days_ago: float = 1, **fields: Any) -> dict[str, Any]:
    return {"lead_id": lead_id, "action_type": action, "occurred_at": _at(days_ago), **fields}


def _rows(store: EventStore) -> list[Feedback]:
    with store.transaction() as session:
        return list(session.scalars(select(Feedback).order_by(Feedback.id)))


def _count(store: EventStore) -> int:
    with store.transaction() as session:
        return session.execute(select(func.count()).select_from(Feedback)).scalar_one()


def test_feedback_accepts_one_report_a_list_and_a_wrapped_batch(client: TestClient, store: EventStore) -> None:
    one = _report("L1", "contact", user_rating=90, interaction_duration=180, contact_successful=True,
                  session_id="session_abc123")
    assert client.post(FEEDBACK, json=one).json() == {"received": 1, "stored": 1, "duplicates": 0}
    assert client.post(FEEDBACK, json=[_report("L2"), _report("L3", "archive")]).json()["stored"] == 2
    answer = client.post(FEEDBACK, json={"feedback": [_report("L4", "convert", conversion_value=5000)]})
    assert answer.json()["stored"] == 1
    first = _rows(store)[0]
    assert (first.namespace, first.lead_id, first.source, first.action_type, first.user_rating,
            first.interaction_duration, first.contact_successful, first.session_id) == (
        "sales", "L1", "explicit", "contact", 90.0, 180.0, True, "session_abc123")


def test_feedback_resent_with_or_without_a_key_changes_nothing(client: TestClient, store: EventStore) -> None:
    keyless = _report("L1", "view", interaction_duration=30)
    keyed = _report("L2", "rate", user_rating=40, idempotency_key="crm-7")
    client.post(FEEDBACK, json=[keyless, keyed])
    again = client.post(FEEDBACK, json=[keyless, {**keyed, "user_rating": 80}])
    assert again.json() == {"received": 2, "stored": 0, "duplicates": 2}
    assert [r.user_rating for r in _rows(store)] == [None, 40.0]


def test_an_implicit_session_stores_one_row_per_interaction_once(client: TestClient, store: EventStore) -> None:
    session = {"session_id": "session_abc123", "occurred_at": _at(2), "interactions": [
        {"lead_id": 123, "type": "view", "duration": 300},
        {"lead_id": 124, "type": "archive", "duration": 5},
        {"lead_id": 123, "type": "view", "duration": 300, "occurred_at": _at(1)},
    ]}
    assert client.post(IMPLICIT, json=session).json() == {"received": 3, "stored": 3, "duplicates": 0}
    assert client.post(IMPLICIT, json=session).json()["duplicates"] == 3
    rows = _rows(store)
    assert [(r.lead_id, r.source, r.action_type, r.interaction_duration) for r in rows] == [
        ("123", "implicit", "view", 300.0), ("124", "implicit", "archive", 5.0), ("123", "implicit", "view", 300.0)]
    assert {r.session_id for r in rows} == {"session_abc123"}
    assert rows[2].occurred_at > rows[0].occurred_at


def test_lead_history_lists_the_leads_feedback_oldest_first(client: TestClient) -> None:
    client.post(FEEDBACK, json=[_report("L9", "contact", days_ago=1, contact_successful=True),
                                _report("L9", "view", days_ago=2, interaction_duration=42)])
    history = client.get("/v1/namespaces/sales/leads/L9").json()
    assert [(f["action_type"], f["source"]) for f in history["feedback"]] == [("view", "explicit"),
                                                                             ("contact", "explicit")]
    assert history["feedback"][1]["contact_successful"] is True and history["predictions"] == []
    assert client.get("/v1/namespaces/marketing/leads/L9").status_code == 404


@pytest.mark.parametrize(("path", "body", "field"), [
    (FEEDBACK, _report("L1", user_rating=101), "user_rating"),
    (FEEDBACK, _report("L1", "click"), "action_type"),
    (FEEDBACK, _report("L1", "view", contact_successful=True), "contact_successful"),
    (FEEDBACK, _report("L1", "view", conversion_value=10), "conversion_value"),
    (FEEDBACK, [_report("L1"), _report("L2", interaction_duration=-1)], "feedback[1].interaction_duration"),
    (FEEDBACK, {**_report("L1"), "occurred_at": "yesterday"}, "occurred_at"),
    (FEEDBACK, {**_report("L1"), "colour": "red"}, "colour"),
    (IMPLICIT, {"session_id": "s", "occurred_at": _at(1), "interactions": [
        {"lead_id": "L1", "type": "view"}, {"lead_id": "L2", "type": "hover"}]}, "interactions[1].type"),
    (IMPLICIT, {"session_id": "s", "occurred_at": _at(1), "interactions": []}, "interactions"),
    (IMPLICIT, {"occurred_at": _at(1), "interactions": [{"lead_id": "L1", "type": "view"}]}, "session_id"),
])
def test_bad_feedback_is_refused_with_one_400_naming_the_field_and_nothing_stored(
        client: TestClient, store: EventStore, path: str, body: Any, field: str) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(f"{field}:"), response.json()
    assert _count(store) == 0


def test_openapi_documents_the_feedback_bodies(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    explicit = paths[FEEDBACK_PATH]["post"]["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert "action_type" in explicit[0]["properties"]
    implicit = paths[IMPLICIT_PATH]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "interactions" in implicit["properties"]
    assert "days" in str(paths[ANALYTICS_PATH]["get"]["parameters"])


def test_analytics_count_actions_per_day_and_the_share_of_leads_with_explicit_feedback(client: TestClient) -> None:
    client.post(FEEDBACK, json=[
        _report("L1", "contact", days_ago=1, contact_successful=True, user_rating=80),
        _report("L2", "contact", days_ago=1, contact_successful=False, user_rating=40),
        _report("L3", "convert", days_ago=2),
        _report("OLD", "view", days_ago=40),  # outside a 30-day window
    ])
    client.post(IMPLICIT, json={"session_id": "s1", "occurred_at": _at(2), "interactions": [
        {"lead_id": "L1", "type": "view", "duration": 400}, {"lead_id": "L4", "type": "view", "duration": 20},
        {"lead_id": "L5", "type": "archive", "duration": 3}]})
    report = client.get(ANALYTICS, params={"days": 30}).json()
    assert (report["total"], report["explicit"], report["implicit"]) == (6, 3, 3)
    assert report["actions"] == {"view": 2, "contact": 2, "convert": 1, "archive": 1, "rate": 0}
    assert [(d["total"], d["actions"]["view"]) for d in report["daily"]] == [(4, 2), (2, 0)]
    assert report["contacts_reported"] == 2 and report["contact_success_rate"] == 0.5
    assert report["average_rating"] == 60.0
    confidence = report["confidence"]
    assert (confidence["leads"], confidence["explicit_leads"], confidence["value"]) == (5, 3, 0.6)
    assert confidence["lower"] < 0.6 < confidence["upper"]
    assert client.get(ANALYTICS, params={"days": 60}).json()["total"] == 7


def test_analytics_keep_namespaces_and_models_apart(client: TestClient) -> None:
    client.post(FEEDBACK, json=[_report("L1", model="pc-leads"), _report("L2", model="other"), _report("L3")])
    client.post(FEEDBACK_PATH.format(namespace="marketing"), json=_report("L1"))
    assert client.get(ANALYTICS).json()["total"] == 3
    assert client.get(ANALYTICS, params={"model": "pc-leads"}).json()["total"] == 2  # its own and the unnamed
    assert client.get(ANALYTICS_PATH.format(namespace="marketing")).json()["total"] == 1


def test_analytics_without_feedback_report_zeros_and_no_confidence(client: TestClient) -> None:
    report = client.get(ANALYTICS).json()
    assert report["total"] == 0 and report["daily"] == [] and report["confidence"]["value"] is None


def test_analytics_refuse_a_window_outside_the_bounds_naming_days(client: TestClient) -> None:
    response = client.get(ANALYTICS, params={"days": 0})
    assert response.status_code == 400 and "days" in response.json()["error"]


def test_export_adds_each_leads_feedback_facts_and_leaves_them_out_without_feedback(
        client: TestClient, store: EventStore, tmp_path: Path) -> None:
    for lead in ("L1", "L2", "L3"):
        client.post("/v1/events", headers=headers(f"e-{lead}", "request"), content=request_body(lead))
        client.post("/v1/events", headers=headers(f"e-{lead}", "response"), content=response_body(scored(lead)))
        client.post(OUTCOMES_PATH.format(namespace="sales"),
                    json={"lead_id": lead, "converted": lead == "L3", "occurred_at": _at(0)})
    since = NOW - timedelta(days=1)
    export_training_set(store, since, str(tmp_path / "plain.parquet"), "sales")
    assert not any(c.startswith("feedback.") for c in pd.read_parquet(tmp_path / "plain.parquet").columns)
    client.post(FEEDBACK, json=[_report("L1", "view", interaction_duration=400),
                                _report("L1", "rate", user_rating=70),
                                _report("L2", "contact", contact_successful=True)])
    client.post(IMPLICIT, json={"session_id": "s", "occurred_at": _at(0.5), "interactions": [
        {"lead_id": "L1", "type": "archive", "duration": 4}]})
    export_training_set(store, since, str(tmp_path / "graded.parquet"), "sales")
    frame = pd.read_parquet(tmp_path / "graded.parquet").set_index("lead_id")
    column = SIGNAL_COLUMNS
    assert frame.loc["L1", column["longest_view_seconds"]] == 400.0
    assert frame.loc["L1", column["rating"]] == 70.0
    assert frame.loc["L1", column["quickest_archive_seconds"]] == 4.0
    assert frame.loc["L1", column["events"]] == 3
    assert bool(frame.loc["L2", column["contact_successful"]]) is True
    assert frame.loc["L3", column["events"]] == 0 and pd.isna(frame.loc["L3", column["rating"]])
    assert frame["converted"].tolist() == [0, 0, 1]

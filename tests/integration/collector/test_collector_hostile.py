"""Hostile payloads against the real collector on SQLite and PostgreSQL: each is a clear 4xx
naming the field, and changes nothing (issue 19, collector items 6, 8, 9 and 10)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select

from leadscore.store.events import Outcome, Prediction, open_store
from support.collector import running_collector
from unit.collector.kserve_logger import headers, lead, scored

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


@dataclass(frozen=True)
class Collector:
    url: str
    db: str

    def counts(self) -> tuple[int, int]:
        """(predictions, outcomes) stored."""
        store = open_store(self.db)
        try:
            with store.transaction() as session:
                return tuple(  # type: ignore[return-value]
                    session.execute(select(func.count()).select_from(m)).scalar_one() for m in (Prediction, Outcome)
                )
        finally:
            store.dispose()

    def features(self, lead_id: str) -> list[dict[str, object] | None]:
        store = open_store(self.db)
        try:
            with store.transaction() as session:
                return list(session.scalars(select(Prediction.features).where(Prediction.lead_id == lead_id)))
        finally:
            store.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def collector(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    workdir = tmp_path_factory.mktemp("hostile-collector")
    if request.param == "sqlite":
        db = f"sqlite:///{workdir / 'events.db'}"
        database = None
    else:
        server = request.getfixturevalue("postgres_server")
        database = server.create_database()
        db = server.url(database)
    try:
        with running_collector(db, workdir / "collector.log") as url:
            yield Collector(url=url, db=db)
    finally:
        if database is not None:
            server.drop_database(database)


def _outcome(lead_id: str, **fields: object) -> dict[str, object]:
    return {"lead_id": lead_id, "converted": True, "occurred_at": NOW.isoformat(), **fields}


def _post_outcomes(collector: Collector, body: object) -> httpx.Response:
    return httpx.post(f"{collector.url}/v1/namespaces/sales/outcomes", json=body, timeout=60)


def _post_raw(collector: Collector, path: str, content: bytes, extra: dict[str, str] | None = None) -> httpx.Response:
    sent = {"content-type": "application/json", **(extra or {})}
    return httpx.post(f"{collector.url}{path}", content=content, headers=sent, timeout=60)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"occurred_at": "0001-01-01T00:00:00+14:00"}, "outcomes[0].occurred_at: Value error, is outside the range"),
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "outcomes[0].occurred_at: Value error, must lie between"),
        ({"occurred_at": "1800-01-01T00:00:00Z"}, "outcomes[0].occurred_at: Value error, must lie between"),
        ({"occurred_at": 0}, "outcomes[0].occurred_at: Value error, must lie between"),
        ({"occurred_at": (NOW + timedelta(days=3)).isoformat()}, "outcomes[0].occurred_at: Value error, must lie"),
        ({"value": -10.0}, "outcomes[0].value: Input should be greater than or equal to 0"),
        ({"converted": "yes"}, "outcomes[0].converted: Input should be a valid boolean"),
        ({"converted": 1}, "outcomes[0].converted: Input should be a valid boolean"),
        ({"converted": "true"}, "outcomes[0].converted: Input should be a valid boolean"),
    ],
)
def test_outcome_with_implausible_field_is_400_naming_it_and_stores_nothing(
    collector: Collector, change: dict[str, object], message: str
) -> None:
    before = collector.counts()
    response = _post_outcomes(collector, {"outcomes": [_outcome("H-ok"), _outcome("H-bad", **change)][::-1]})
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(message)
    assert collector.counts() == before


def test_contradictory_keyless_outcomes_are_409_and_the_first_stands(collector: Collector) -> None:
    when = (NOW - timedelta(hours=1)).isoformat()
    before = collector.counts()
    both = [_outcome("H-c1", occurred_at=when), _outcome("H-c1", occurred_at=when, converted=False)]
    refused = _post_outcomes(collector, both)
    assert refused.status_code == 409
    assert refused.json()["error"].startswith("outcomes[1]: lead 'H-c1' already has a different outcome")
    assert collector.counts() == before
    assert _post_outcomes(collector, both[0]).json()["stored"] == 1
    assert _post_outcomes(collector, both[0]).json()["duplicates"] == 1  # the same report again is harmless
    later = _post_outcomes(collector, both[1])
    assert later.status_code == 409
    assert _post_outcomes(collector, {**both[1], "idempotency_key": "crm-correction-1"}).json()["stored"] == 1
    assert collector.counts()[1] == before[1] + 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "body: JSON nested too deeply"),
        (b'{"lead_id": "H-n", "converted": true, "value": 1' + b"0" * 1_000_000 + b', "occurred_at": "2024-01-01"}',
         "body: a number is out of range"),
    ],
)
def test_unparseable_outcome_body_is_400(collector: Collector, content: bytes, message: str) -> None:
    before = collector.counts()
    response = _post_raw(collector, "/v1/namespaces/sales/outcomes", content)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"].startswith(message)
    assert collector.counts() == before


def test_body_over_the_limit_is_413_before_it_is_read_whole(collector: Collector) -> None:
    size = 17 * 1024 * 1024
    declared = _post_raw(collector, "/v1/namespaces/sales/outcomes", b" " * size)
    assert declared.status_code == 413
    assert "more than the 16777216" in declared.json()["error"]

    def chunks() -> Iterator[bytes]:
        for _ in range(size // (1024 * 1024)):
            yield b" " * (1024 * 1024)

    streamed = httpx.post(f"{collector.url}/v1/events", content=chunks(),
                          headers={**headers("H-big", "request")}, timeout=60)
    assert streamed.status_code == 413


def _event(collector: Collector, event_id: str, kind: str, body: object, **kw: str) -> httpx.Response:
    return httpx.post(
        f"{collector.url}/v1/events", headers=headers(event_id, kind, **kw), content=json.dumps(body).encode(),
        timeout=60,
    )


@pytest.mark.parametrize("request_first", [True, False])
def test_halves_naming_different_leads_never_share_features(collector: Collector, request_first: bool) -> None:
    event = f"H-pair-{request_first}"
    x, y = f"H-x-{request_first}", f"H-y-{request_first}"
    halves = [("request", {"instances": [lead(x, pages_viewed=99)]}), ("response", {"predictions": [scored(y)]})]
    answers = [_event(collector, event, kind, body) for kind, body in (halves if request_first else halves[::-1])]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].json()["features_mismatched"] == 1
    assert collector.features(y) == [None]
    metrics = httpx.get(f"{collector.url}/metrics", timeout=30).text
    assert "leadscore_collector_features_mismatched_total" in metrics


def test_halves_in_another_order_pair_by_lead_id(collector: Collector) -> None:
    request = {"instances": [lead("H-o1", pages_viewed=1), lead("H-o2", pages_viewed=2)]}
    response = {"predictions": [scored("H-o2"), scored("H-o1")]}
    assert _event(collector, "H-order", "request", request).status_code == 200
    assert _event(collector, "H-order", "response", response).json()["features_mismatched"] == 0
    assert [f["pages_viewed"] for f in collector.features("H-o1")] == [1]  # type: ignore[index]
    assert [f["pages_viewed"] for f in collector.features("H-o2")] == [2]  # type: ignore[index]


@pytest.mark.parametrize(
    ("time", "message"),
    [("2999-01-01T00:00:00Z", "ce-time: Value error, must lie between"),
     ("0001-01-01T00:00:00+14:00", "ce-time: Value error, is outside the range")],
)
def test_implausible_ce_time_is_400(collector: Collector, time: str, message: str) -> None:
    before = collector.counts()
    response = _event(collector, f"H-time-{time[:4]}", "response", {"predictions": [scored("H-t")]}, time=time)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert collector.counts() == before


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"inputs": [{"name": "records", "datatype": "BYTES", "shape": [20_000],
                      "data": [json.dumps({"lead_id": f"r{i}"}) for i in range(20_000)]}]},
         "inputs[0]: 20000 records is more than the 10000 accepted"),
        ({"inputs": [{"name": "x", "datatype": "FP64", "shape": [1], "data": json.loads("[" * 50 + "1" + "]" * 50)}]},
         "tensor data: nested more than 8 deep"),
    ],
)
def test_oversized_or_deep_v2_request_is_400(collector: Collector, body: object, message: str) -> None:
    response = _event(collector, "H-v2", "request", body)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"].startswith(message)


def test_deeply_nested_field_inside_an_instance_is_400(collector: Collector) -> None:
    body = b'{"instances": [{"lead_id": "H-d", "notes": ' + b"[" * 5000 + b"]" * 5000 + b"}]}"
    response = httpx.post(f"{collector.url}/v1/events", headers=headers("H-deep", "request"), content=body, timeout=60)
    assert response.status_code == 400
    assert response.json()["error"] == "body: JSON nested too deeply"

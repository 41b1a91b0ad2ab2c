"""GET /v1/models/{namespace}/{service}/performance: matured leads joined with their outcomes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from leadscore.collector.app import create_app
from leadscore.store.events import open_store
from unit.collector.kserve_logger import headers, lead, response_body, scored

NOW = datetime.now(UTC)


@pytest.fixture
def client(store_url: str) -> Iterator[TestClient]:
    store = open_store(store_url)
    with TestClient(create_app(store)) as test_client:
        yield test_client
    store.dispose()


def score(client: TestClient, event: str, at: datetime, leads: list[tuple[str, float]], version: str = "v1") -> None:
    stamp = at.isoformat().replace("+00:00", "Z")
    request = json.dumps({"instances": [lead(i) for i, _ in leads]}).encode()
    response = response_body(*(scored(i, p, version=version) for i, p in leads))
    for kind, body in (("request", request), ("response", response)):
        posted = client.post("/v1/events", headers=headers(event, kind, time=stamp), content=body)
        assert posted.status_code == 200, posted.text


def outcome(client: TestClient, lead_id: str, at: datetime, converted: bool = True, value: float = 100.0) -> None:
    body = {"lead_id": lead_id, "converted": converted, "value": value,
            "occurred_at": at.isoformat(), "idempotency_key": f"{lead_id}-{at}"}
    posted = client.post("/v1/namespaces/sales/outcomes", json=body)
    assert posted.status_code == 200, posted.text


def test_only_matured_leads_and_outcomes_within_the_delay_count(client: TestClient) -> None:
    scored_at = NOW - timedelta(days=40)
    score(client, "old", scored_at, [("H1", 0.9), ("H2", 0.85), ("L1", 0.1), ("L2", 0.2), ("L3", 0.15)])
    score(client, "again", scored_at + timedelta(days=1), [("H1", 0.3)])  # re-scored: the first score counts
    score(client, "young", NOW - timedelta(days=5), [("Y1", 0.9)])  # not matured: excluded
    score(client, "other", scored_at, [("O1", 0.9)], version="v2")  # another version
    outcome(client, "H1", scored_at + timedelta(days=2), value=500.0)
    outcome(client, "H2", scored_at + timedelta(days=4), value=300.0)
    outcome(client, "L1", scored_at + timedelta(days=20))  # after the 14-day maturity: not counted
    outcome(client, "L2", scored_at - timedelta(days=1))  # before the score: not caused by it
    outcome(client, "L3", scored_at + timedelta(days=3), converted=False)
    outcome(client, "Y1", NOW - timedelta(days=4))
    response = client.get("/v1/models/sales/lead-model/performance", params={"version": "v1"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["leads"], body["conversions"], body["maturity_days"]) == (5, 2, 14.0)
    assert body["roc_auc"]["value"] == 1.0  # both converted leads outrank every other
    tiers = {t["tier"]: t for t in body["tiers"]}
    assert (tiers["high"]["leads"], tiers["high"]["conversions"]) == (2, 2)
    assert (tiers["low"]["leads"], tiers["low"]["conversions"]) == (3, 0)
    assert body["top_tier_lift"]["value"] == pytest.approx(1.0 / 0.4)
    assert body["revenue_per_lead"]["value"] == pytest.approx(800.0 / 5)
    assert body["time_to_conversion"]["median_days"] == pytest.approx(3.0)
    assert sum(b["leads"] for b in body["calibration"]) == 5
    text = client.get("/metrics").text
    assert 'leadscore_live_roc_auc{bound="value",namespace="sales",service="lead-model",version="v1"} 1.0' in text
    assert 'leadscore_live_tier_conversion_rate{namespace="sales",service="lead-model",tier="high",version="v1"} 1.0' \
        in text


def test_a_window_with_no_matured_leads_reports_zero_and_no_auc(client: TestClient) -> None:
    score(client, "young", NOW - timedelta(days=2), [("Y1", 0.9)])
    body = client.get("/v1/models/sales/lead-model/performance", params={"version": "v1"}).json()
    assert (body["leads"], body["roc_auc"], body["top_tier_lift"]) == (0, None, None)


def test_a_longer_maturity_moves_the_window_back(client: TestClient) -> None:
    score(client, "old", NOW - timedelta(days=20), [("A", 0.9), ("B", 0.1)])
    assert client.get("/v1/models/sales/lead-model/performance", params={"version": "v1"}).json()["leads"] == 2
    late = client.get("/v1/models/sales/lead-model/performance", params={"version": "v1", "maturity": "30d"})
    assert late.json()["leads"] == 0


def test_a_bad_maturity_is_refused_naming_the_parameter(client: TestClient) -> None:
    response = client.get("/v1/models/sales/lead-model/performance", params={"version": "v1", "maturity": "soon"})
    assert response.status_code == 400 and response.json()["error"].startswith("maturity:")

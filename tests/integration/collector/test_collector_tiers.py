"""GET /v1/models/{namespace}/{service}/tiers on the real collector, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from leadscore.store.events import Outcome, Prediction, insert_new, open_store
from support.collector import running_collector

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


def _prediction(n: int, lead: str, tier: str | None, days_ago: float, service: str = "pc") -> dict:
    return {"event_id": f"e{n}", "idx": 0, "lead_id": lead, "probability": 0.5, "tier": tier, "model_version": "v1",
            "namespace": "sales", "inference_service": service, "predicted_at": NOW - timedelta(days=days_ago)}


def _outcome(key: str, lead: str, converted: bool, days_ago: float) -> dict:
    at = NOW - timedelta(days=days_ago)
    return {"namespace": "sales", "idempotency_key": key,
            "lead_id": lead, "converted": converted, "occurred_at": at, "received_at": at}


@pytest.fixture(params=["sqlite", "postgresql"])
def collector(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    db = (f"sqlite:///{tmp_path / 'events.db'}" if request.param == "sqlite"
          else request.getfixturevalue("postgres_database"))
    store = open_store(db)
    with store.transaction() as session:
        insert_new(session, Prediction, [
            _prediction(1, "A", "high", 5), _prediction(2, "A", "high", 4),  # scored twice: one lead
            _prediction(3, "B", "high", 5), _prediction(4, "C", "low", 5), _prediction(5, "D", None, 5),
            _prediction(6, "E", "low", 40),                   # before the window
            _prediction(7, "F", "high", 5, service="other"),  # another model
        ])
        insert_new(session, Outcome, [
            _outcome("o1", "A", True, 3),   # converted after its score
            _outcome("o2", "B", True, 6),   # converted before it was scored: not the model's doing
            _outcome("o3", "C", False, 1),  # lost
            _outcome("o4", "F", True, 1),
        ])
    store.dispose()
    with running_collector(db, tmp_path / "collector.log") as url:
        yield url


def test_tiers_count_distinct_leads_and_conversions_after_the_score_per_service(collector: str) -> None:
    body = httpx.get(f"{collector}/v1/models/sales/pc/tiers", params={"days": 30}).json()

    assert [(t["tier"], t["leads"], t["conversions"]) for t in body["tiers"]] == [
        ("high", 2, 1), ("", 1, 0), ("low", 1, 0)]
    assert body["service"] == "pc" and body["namespace"] == "sales"


def test_tiers_names_a_bad_window_with_400(collector: str) -> None:
    response = httpx.get(f"{collector}/v1/models/sales/pc/tiers", params={"days": 0})

    assert response.status_code == 400 and "days" in response.text

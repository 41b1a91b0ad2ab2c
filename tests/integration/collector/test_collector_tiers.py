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


SLAS = {"high": 1800.0, "low": 86400.0}


def _prediction(n: int, lead: str, tier: str | None, days_ago: float, service: str = "pc") -> dict:
    return {"event_id": f"e{n}", "idx": 0, "lead_id": lead, "probability": 0.5, "tier": tier, "model_version": "v1",
            "namespace": "sales", "inference_service": service, "predicted_at": NOW - timedelta(days=days_ago),
            "sla_seconds": SLAS.get(tier or "")}


def _outcome(key: str, lead: str, converted: bool, days_ago: float, contacted_days_ago: float | None = None) -> dict:
    at = NOW - timedelta(days=days_ago)
    contacted = None if contacted_days_ago is None else NOW - timedelta(days=contacted_days_ago)
    return {"namespace": "sales", "idempotency_key": key, "lead_id": lead, "converted": converted,
            "occurred_at": at, "received_at": at, "first_contacted_at": contacted}


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
            _outcome("o1", "A", True, 3, contacted_days_ago=5 - 1 / 96),  # converted after its score, called in 15 min
            _outcome("o2", "B", True, 6),   # converted before it was scored: not the model's doing
            _outcome("o3", "C", False, 1, contacted_days_ago=4),  # lost, called a day after its score (SLA 1 d)
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


def test_tiers_report_first_contacts_against_each_tiers_sla(collector: str) -> None:
    tiers = {t["tier"]: t for t in httpx.get(f"{collector}/v1/models/sales/pc/tiers").json()["tiers"]}

    high, low, untiered = tiers["high"], tiers["low"], tiers[""]
    assert (high["sla_seconds"], high["contacted"], high["sla_met"], high["sla_due"], high["sla_met_share"]) == (
        1800.0, 1, 1, 2, 0.5)  # A within 15 min; B never called though its half hour is long gone
    assert high["median_hours_to_first_contact"] == pytest.approx(0.25, abs=1e-6)
    assert (low["contacted"], low["sla_met"], low["sla_due"], low["median_hours_to_first_contact"]) == (
        1, 1, 1, pytest.approx(24.0, abs=1e-6))
    assert (untiered["sla_seconds"], untiered["sla_due"], untiered["sla_met_share"]) == (None, 0, None)


def test_tiers_names_a_bad_window_with_400(collector: str) -> None:
    response = httpx.get(f"{collector}/v1/models/sales/pc/tiers", params={"days": 0})

    assert response.status_code == 400 and "days" in response.text

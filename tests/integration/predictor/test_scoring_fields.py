"""What a sales floor acts on, served by a real KServe ModelServer: tiers that fit each
version's own score distribution, each tier's SLA and priority, and what scored the lead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from predictor_artifacts import request_records
from predictor_servers import Predictor

from leadscore.api.artifact import CARD_FILE, ServingCard
from leadscore.api.leadscoringmodel import ScoringSpec
from leadscore.scoring import TIERS, cutoffs, tier_index

pytestmark = pytest.mark.integration


def _predict(server: Predictor, leads: list[dict[str, object]]) -> list[dict[str, object]]:
    response = httpx.post(f"{server.http}/v1/models/{server.name}:predict", json={"instances": leads}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def _bounds(artifact: Path) -> np.ndarray:
    card = ServingCard.model_validate_json((artifact / CARD_FILE).read_text())
    return cutoffs(ScoringSpec(), card.score_histogram)


def test_each_arm_tiers_its_leads_on_its_own_versions_held_out_cutoffs(
    ab_server: Predictor, artifact_v1: Path, artifact_v2: Path
) -> None:
    """Default tiers are shares of leads: v1 and v2 resolve them on their own held-out scores."""
    bounds = {"v1": _bounds(artifact_v1), "v2": _bounds(artifact_v2)}
    assert bounds["v1"].tolist() != bounds["v2"].tolist()
    leads = [{**lead, "lead_id": f"share-{i}"} for i, lead in enumerate(request_records(300, seed=5))]
    predictions = _predict(ab_server, leads)
    crossed = 0
    for p in predictions:
        score = np.array([p["score"]])
        own = TIERS[tier_index(score, bounds[str(p["model_version"])])[0]]
        other = TIERS[tier_index(score, bounds["v2" if p["model_version"] == "v1" else "v1"])[0]]
        assert p["tier"] == own, p
        crossed += own != other
    assert crossed > 0  # some leads would be tiered otherwise under the other version's cut-offs
    assert {p["tier"] for p in predictions} == set(TIERS)


def test_tiers_carry_the_sla_and_priority_the_scoring_sets_and_seed_defaults_otherwise(
    rules_server: Predictor, leads: list[dict[str, object]]
) -> None:
    """LEADSCORE_SCORING sets high's SLA to 15m and no priority anywhere (as a CR written before
    these fields existed): high answers 15m / P0, the other tiers the seed's table."""
    expected = {"high": ("15m", "P0"), "medium": ("4h", "P1"), "low": ("24h", "P2"), "very_low": (None, "P3")}
    predictions = _predict(rules_server, [{**lead, "lead_id": f"sla-{i}"} for i, lead in enumerate(leads * 5)])
    for p in predictions:
        assert (p["sla"], p["priority"]) == expected[str(p["tier"])], p
    assert {"high", "very_low"} <= {p["tier"] for p in predictions}


def test_each_lead_says_what_scored_it_for_which_vertical_in_how_long_and_its_binary_prediction(
    server: Predictor, leads: list[dict[str, object]]
) -> None:
    predictions = _predict(server, leads)
    for p in predictions:
        assert (p["model_type"], p["vertical"], p["model_version"]) == ("ensemble", "pc", "v1")
        assert p["prediction"] is (p["probability"] >= 0.25)  # the card's threshold
    assert {p["prediction"] for p in predictions} == {True, False}
    times = {p["processing_time_ms"] for p in predictions}
    assert len(times) == 1 and 0 < times.pop() < 30_000  # one request, one time


def test_each_arm_predicts_at_its_own_threshold_and_names_its_own_model_type(ab_server: Predictor) -> None:
    leads = [{**lead, "lead_id": f"type-{i}"} for i, lead in enumerate(request_records(200, seed=6))]
    own = {"v1": ("ensemble", 0.25), "v2": ("lightgbm", 0.15)}
    predictions = _predict(ab_server, leads)
    for p in predictions:
        model_type, threshold = own[str(p["model_version"])]
        assert (p["model_type"], p["prediction"]) == (model_type, p["probability"] >= threshold), p
    assert any(0.15 <= p["probability"] < 0.25 for p in predictions)  # where the two thresholds disagree


def test_model_info_names_each_served_version_when_it_went_live_and_its_cutoffs(
    ab_server: Predictor, artifact_v1: Path, artifact_v2: Path
) -> None:
    response = httpx.get(f"{ab_server.http}/v1/models/{ab_server.name}/info", timeout=10)
    assert response.status_code == 200, response.text
    info = response.json()
    assert (info["name"], info["ready"]) == (ab_server.name, True)
    by_arm = {v["arm"]: v for v in info["versions"]}
    assert (by_arm["control"]["version"], by_arm["treatment"]["version"]) == ("v1", "v2")
    assert (by_arm["control"]["model_type"], by_arm["treatment"]["model_type"]) == ("ensemble", "lightgbm")
    assert by_arm["treatment"]["threshold"] == 0.15 and by_arm["control"]["vertical"] == "pc"
    assert by_arm["control"]["trained_at"] == "2026-11-20T10:00:00+00:00"
    activated = datetime.fromisoformat(by_arm["control"]["activated_at"])
    assert timedelta(0) < datetime.now(UTC) - activated < timedelta(hours=2)
    for arm, artifact in (("control", artifact_v1), ("treatment", artifact_v2)):
        low, medium, high = _bounds(artifact).tolist()
        assert by_arm[arm]["tiers"] == {"high": high, "medium": medium, "low": low}
    missing = httpx.get(f"{ab_server.http}/v1/models/nope/info", timeout=10)
    assert missing.status_code == 404

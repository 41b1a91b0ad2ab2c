"""What a sales floor acts on, served by a real KServe ModelServer: tiers that fit each
version's own score distribution, and each tier's SLA and priority."""

from __future__ import annotations

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

"""V1 REST against the real ModelServer: predict, explain, model health, and the score's parity."""

from __future__ import annotations

import math
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pytest
from predictor_servers import Predictor

from leadscore.api.artifact import CARD_FILE, ServingCard
from leadscore.features import FeatureSpec
from leadscore.scoring import cutoffs

pytestmark = pytest.mark.integration

FIELDS = {"lead_id", "probability", "score", "tier", "action", "sla", "priority", "prediction", "model_version",
          "model_type", "vertical", "interval_low", "interval_high", "confidence", "agreement", "processing_time_ms"}
SLA_PRIORITY = {"high": ("30m", "P0"), "medium": ("4h", "P1"), "low": ("24h", "P2"), "very_low": (None, "P3")}
"""Seed 000's table: the default of every tier."""


def _bands(artifact: Path) -> list[tuple[int, str, str]]:
    """The default tiers (shares of leads) as the card's held-out scores cut them."""
    card = ServingCard.model_validate_json((artifact / CARD_FILE).read_text())
    low, medium, high = cutoffs(card.scoring, card.score_histogram).tolist()
    return [(high, "high", "immediate_assignment"), (medium, "medium", "standard_routing"),
            (low, "low", "nurture"), (0, "very_low", "archive")]


def _predict(server: Predictor, instances: list[dict[str, object]]) -> httpx.Response:
    return httpx.post(f"{server.http}/v1/models/{server.name}:predict", json={"instances": instances}, timeout=30)


def test_predict_returns_score_tier_action_and_version_for_every_lead(
    server: Predictor, artifact_v1: Path, leads: list[dict[str, object]]
) -> None:
    bands = _bands(artifact_v1)
    response = _predict(server, leads)
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [p["lead_id"] for p in predictions] == [lead["lead_id"] for lead in leads]
    for p in predictions:
        assert set(p) - {"out_of_range"} == FIELDS  # out_of_range: only on leads beyond the training range
        assert p.get("out_of_range", ["x"]) and all(isinstance(f, str) for f in p.get("out_of_range", []))
        assert 0.0 <= p["probability"] <= 1.0
        assert p["score"] == round(p["probability"] * 100)
        _, tier, action = next(b for b in bands if p["score"] >= b[0])
        assert (p["tier"], p["action"]) == (tier, action)
        assert (p["sla"], p["priority"]) == SLA_PRIORITY[tier]
        assert p["model_version"] == "v1"


def test_predict_equals_the_onnx_model_when_run_directly(
    server: Predictor, artifact_v1: Path, leads: list[dict[str, object]]
) -> None:
    spec = FeatureSpec.model_validate_json((artifact_v1 / "feature_spec.json").read_text())
    session = ort.InferenceSession(str(artifact_v1 / "model.onnx"), providers=["CPUExecutionProvider"])
    (expected,) = session.run(["probability"], {"features": spec.transform_records(leads)})
    got = [p["probability"] for p in _predict(server, leads).json()["predictions"]]
    np.testing.assert_allclose(got, np.asarray(expected, dtype=np.float64).ravel(), atol=1e-6)


def test_predict_handles_missing_optional_fields_like_training_when_they_are_absent(
    server: Predictor, leads: list[dict[str, object]]
) -> None:
    sparse = {"lead_id": "sparse-1", "source": "web"}
    response = _predict(server, [sparse])
    assert response.status_code == 200, response.text
    assert 0.0 <= response.json()["predictions"][0]["probability"] <= 1.0


def test_predict_ignores_unknown_fields_when_not_strict(server: Predictor, leads: list[dict[str, object]]) -> None:
    response = _predict(server, [{**leads[0], "favourite_colour": "teal"}])
    assert response.status_code == 200, response.text
    assert (
        response.json()["predictions"][0]["probability"]
        == _predict(server, [leads[0]]).json()["predictions"][0]["probability"]
    )


def test_explain_returns_signed_top_factors_with_descriptions_for_each_lead(
    server: Predictor, leads: list[dict[str, object]]
) -> None:
    response = httpx.post(f"{server.http}/v1/models/{server.name}:explain", json={"instances": leads[:3]}, timeout=60)
    assert response.status_code == 200, response.text
    explanations = response.json()["explanations"]
    assert [e["lead_id"] for e in explanations] == [lead["lead_id"] for lead in leads[:3]]
    for explanation in explanations:
        assert explanation["unit"].startswith("log-odds")
        factors = explanation["top_factors"]
        assert 1 <= len(factors) <= 5
        sizes = [abs(f["contribution"]) for f in factors]
        assert sizes == sorted(sizes, reverse=True)
        assert any(f["contribution"] > 0 for f in factors) or any(f["contribution"] < 0 for f in factors)
        for factor in factors:
            assert factor["description"] and factor["field"] and not math.isnan(factor["contribution"])


def test_model_health_reports_ready_when_loaded(server: Predictor) -> None:
    assert httpx.get(f"{server.http}/v1/models/{server.name}").json() == {"name": server.name, "ready": True}
    assert httpx.get(f"{server.http}/v1/models").json() == {"models": [server.name]}


def test_predict_answers_404_when_the_model_name_is_unknown(server: Predictor, leads: list[dict[str, object]]) -> None:
    response = httpx.post(f"{server.http}/v1/models/nope:predict", json={"instances": leads[:1]})
    assert response.status_code == 404

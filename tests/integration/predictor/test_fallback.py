"""A model that fails at scoring time: the rules answer for its leads (LEADSCORE_FALLBACK=rules)
and say so, or the request fails (none). In-process on a real artifact; the failure is injected
into the scoring engines, the one part that can fail after validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadscore.predictor import metrics
from leadscore.predictor.config import PredictorSettings
from leadscore.predictor.model import LeadScoreModel
from leadscore.predictor.rules import RULES_VERSION, rule_scores
from leadscore.uncertainty import UNCERTAINTY_FIELDS

pytestmark = pytest.mark.integration


def _failing_model(artifact: Path, fallback: str, monkeypatch: pytest.MonkeyPatch) -> LeadScoreModel:
    model = LeadScoreModel(f"fallback-{fallback}", PredictorSettings(model_uri=str(artifact), fallback=fallback))
    model.load()

    def fail(matrix: object) -> None:
        raise RuntimeError("onnxruntime: simulated kernel failure")

    monkeypatch.setattr(model.arms[0].engines, "scored", fail)
    return model


def test_rules_answer_and_name_themselves_when_the_model_fails(
    artifact_v1: Path, leads: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _failing_model(artifact_v1, "rules", monkeypatch)
    counted = metrics.ERRORS.labels(model.name, "scoring_fallback")
    before = counted._value.get()
    answer = model.postprocess(model.predict(model.preprocess({"instances": leads})))
    predictions = answer["predictions"]
    assert {p["model_version"] for p in predictions} == {RULES_VERSION}
    assert {p["model_type"] for p in predictions} == {"rules"}
    assert {p[name] for p in predictions for name in UNCERTAINTY_FIELDS} == {None}  # not the model's interval
    assert [p["score"] for p in predictions] == rule_scores(leads).round().astype(int).tolist()
    assert [p["lead_id"] for p in predictions] == [lead["lead_id"] for lead in leads]
    assert counted._value.get() == before + 1


def test_request_fails_when_fallback_is_off(
    artifact_v1: Path, leads: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _failing_model(artifact_v1, "none", monkeypatch)
    with pytest.raises(RuntimeError, match="simulated kernel failure"):
        model.predict(model.preprocess({"instances": leads}))

"""Explanations are exact: the weighted contributions add up to the blended log-odds score."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm
import numpy as np
import onnxruntime as ort
import pytest
from predictor_artifacts import request_records

from leadscore.api.artifact import ServingCard
from leadscore.explain import Explainer, members_from_card
from leadscore.features import FeatureSpec

pytestmark = pytest.mark.integration


def _native_score(artifact: Path, x: np.ndarray) -> np.ndarray:
    """sum_i w_i * logit(p_i), from the native models themselves."""
    card = json.loads((artifact / "model_card.json").read_text())
    total = np.zeros(len(x))
    for member in card["members"]:
        path = artifact / member["native_file"]
        if member["algorithm"] == "lightgbm":
            margin = lightgbm.Booster(model_file=str(path)).predict(x, raw_score=True)
        else:
            lr = json.loads(path.read_text())
            filled = np.where(np.isnan(x), lr["impute_median"], x)
            margin = ((filled - lr["scale_mean"]) / lr["scale_std"]) @ np.asarray(lr["coef"]) + lr["intercept"]
        total += member["weight"] * margin
    return total


def test_contributions_sum_to_the_blended_score_when_members_are_combined(artifact_v1: Path) -> None:
    spec = FeatureSpec.model_validate_json((artifact_v1 / "feature_spec.json").read_text())
    x = spec.transform_records(request_records(50, seed=5))
    card = json.loads((artifact_v1 / "model_card.json").read_text())
    assert len(card["members"]) == 2  # the ensemble path: both members carry weight
    explanation = Explainer(members_from_card(ServingCard.model_validate(card), artifact_v1)).explain(x)
    np.testing.assert_allclose(
        explanation.terms.sum(axis=1) + explanation.base, _native_score(artifact_v1, x), atol=1e-4
    )


def test_blended_score_orders_leads_like_the_calibrated_probability(artifact_v1: Path) -> None:
    spec = FeatureSpec.model_validate_json((artifact_v1 / "feature_spec.json").read_text())
    x = spec.transform_records(request_records(50, seed=6))
    session = ort.InferenceSession(str(artifact_v1 / "model.onnx"), providers=["CPUExecutionProvider"])
    (probability,) = session.run(["probability"], {"features": x})
    score = _native_score(artifact_v1, x)
    assert np.array_equal(np.argsort(score, kind="stable"), np.argsort(probability.ravel(), kind="stable"))

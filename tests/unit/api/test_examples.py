"""The example CRs parse with the same models the CRDs come from (the apiserver check is in
tests/integration/operator)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from leadscore.api.abexperiment import ABExperimentSpec
from leadscore.api.leadscoringmodel import LeadScoringModelSpec

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "manifests" / "examples").glob("*/*.yaml"))
SPECS = {"LeadScoringModel": LeadScoringModelSpec, "ABExperiment": ABExperimentSpec}


def test_examples_cover_every_vertical_and_an_experiment():
    kinds = [yaml.safe_load(p.read_text())["kind"] for p in EXAMPLES]
    verticals = {yaml.safe_load(p.read_text())["spec"].get("vertical") for p in EXAMPLES}
    assert {"pc", "health", "commercial"} <= verticals and "ABExperiment" in kinds


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_parses_with_the_api_models(path):
    body = yaml.safe_load(path.read_text())
    assert body["apiVersion"] == "leadscoring.io/v1alpha1"
    SPECS[body["kind"]].model_validate(body["spec"])

"""A version whose members are the random forest and the MLP, on the real ModelServer: scores
match model.onnx and explanations come from the members' own graphs kept under boosters/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pytest
from predictor_artifacts import build_artifact, request_records
from predictor_servers import Predictor, running_predictor

from leadscore.features import FeatureSpec

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def families(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_artifact(tmp_path_factory.mktemp("artifacts") / "v1", "v1", algorithms=("randomforest", "mlp"),
                          seed=7)


@pytest.fixture(scope="module")
def families_server(families: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    with running_predictor(families, tmp_path_factory.mktemp("logs"), name="pc-families") as predictor:
        yield predictor


def test_forest_and_mlp_version_scores_like_its_onnx_graph_and_explains_each_lead(
    families_server: Predictor, families: Path
) -> None:
    leads = request_records(5, seed=31)
    url = f"{families_server.http}/v1/models/{families_server.name}"
    predicted = httpx.post(f"{url}:predict", json={"instances": leads}, timeout=60)
    assert predicted.status_code == 200, predicted.text
    x = FeatureSpec.model_validate_json((families / "feature_spec.json").read_text()).transform_records(leads)
    session = ort.InferenceSession(str(families / "model.onnx"), providers=["CPUExecutionProvider"])
    (expected,) = session.run(["probability"], {"features": x})
    got = np.array([p["probability"] for p in predicted.json()["predictions"]])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    explained = httpx.post(f"{url}:explain", json={"instances": leads[:2]}, timeout=60)
    assert explained.status_code == 200, explained.text
    for explanation in explained.json()["explanations"]:
        factors = explanation["top_factors"]
        assert 1 <= len(factors) <= 5 and all(np.isfinite(f["contribution"]) for f in factors)

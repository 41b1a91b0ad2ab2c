"""Predictor fixtures: real artifacts (built once per session) and real ModelServers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from predictor_artifacts import build_artifact, request_records
from predictor_servers import Predictor, running_predictor

pytestmark = pytest.mark.integration

AB_SALT = "team-a/pc-v1-vs-v2"


@pytest.fixture(scope="session")
def artifact_v1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ensemble (LightGBM + logistic baseline), version v1."""
    return build_artifact(tmp_path_factory.mktemp("artifacts") / "v1", "v1", algorithms=("lightgbm", "lr"), seed=7)


@pytest.fixture(scope="session")
def artifact_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A single LightGBM on other rows, version v2."""
    return build_artifact(tmp_path_factory.mktemp("artifacts") / "v2", "v2", algorithms=("lightgbm",), seed=11,
                          threshold=0.15)


@pytest.fixture(scope="session")
def leads() -> list[dict[str, object]]:
    """Twenty leads as a CRM would send them (not seen in training)."""
    return request_records(20, seed=101)


@pytest.fixture(scope="session")
def server(artifact_v1: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    """Lenient mode (unknown fields ignored), at most 50 leads per request."""
    with running_predictor(
        artifact_v1, tmp_path_factory.mktemp("logs"), name="pc", env={"LEADSCORE_MAX_BATCH": "50"}
    ) as predictor:
        yield predictor


@pytest.fixture(scope="session")
def strict_server(artifact_v1: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    with running_predictor(
        artifact_v1, tmp_path_factory.mktemp("logs"), name="pc-strict", args=["--strict"]
    ) as predictor:
        yield predictor


@pytest.fixture(scope="session")
def ab_server(artifact_v1: Path, artifact_v2: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    """Sticky 50/50 between v1 (control, the mounted model) and v2 (treatment)."""
    env = {
        "LEADSCORE_AB_EXPERIMENT": "pc-v1-vs-v2",
        "LEADSCORE_AB_TREATMENT_URI": str(artifact_v2),
        "LEADSCORE_AB_TREATMENT_PERCENT": "50",
        "LEADSCORE_AB_SALT": AB_SALT,
    }
    with running_predictor(artifact_v1, tmp_path_factory.mktemp("logs"), name="pc-ab", env=env) as predictor:
        yield predictor


@pytest.fixture(scope="session")
def rules_server(artifact_v1: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    """The rule-based baseline as control against v1, 30% treatment, custom tiers."""
    env = {
        "LEADSCORE_AB_EXPERIMENT": "rules-vs-v1",
        "LEADSCORE_AB_CONTROL_URI": "rules",
        "LEADSCORE_AB_TREATMENT_URI": str(artifact_v1),
        "LEADSCORE_AB_TREATMENT_PERCENT": "30",
        "LEADSCORE_SCORING": '{"high":{"minScore":70,"action":"call_now","sla":"15m"},"medium":{"minScore":50,'
        '"action":"queue"},"low":{"minScore":20,"action":"email"},"veryLowAction":"drop"}',
    }
    with running_predictor(artifact_v1, tmp_path_factory.mktemp("logs"), name="pc-rules", env=env) as predictor:
        yield predictor

"""Interval, confidence and agreement per lead, served by a real KServe ModelServer over V1, V2
REST and gRPC, equal to what ``leadscore score`` writes for the same leads (one implementation),
null for what has none: a single model's agreement, the rules, a version trained before them."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pandas as pd
import pytest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from predictor_artifacts import build_artifact, request_records
from predictor_servers import Predictor, running_predictor

from leadscore.trainer.batch import score_file
from leadscore.uncertainty import UNCERTAINTY_FIELDS

pytestmark = pytest.mark.integration


def _v1(server: Predictor, leads: list[dict[str, object]]) -> list[dict[str, object]]:
    response = httpx.post(f"{server.http}/v1/models/{server.name}:predict", json={"instances": leads}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def _v2_records(name: str, leads: list[dict[str, object]]) -> dict[str, object]:
    data = [json.dumps(lead) for lead in leads]
    return {"inputs": [{"name": "records", "datatype": "BYTES", "shape": [len(leads)], "data": data}]}


@pytest.fixture(scope="module")
def uncertain_leads() -> list[dict[str, object]]:
    return [{**lead, "lead_id": f"u-{i}"} for i, lead in enumerate(request_records(40, seed=31))]


def test_v1_answers_the_interval_confidence_and_agreement_leadscore_score_writes(
    server: Predictor, artifact_v1: Path, uncertain_leads: list[dict[str, object]], tmp_path: Path
) -> None:
    predictions = _v1(server, uncertain_leads)
    data, out = tmp_path / "leads.csv", tmp_path / "scores.csv"
    pd.DataFrame(uncertain_leads).to_csv(data, index=False)
    score_file(str(artifact_v1), str(data), str(out), 1000)
    offline = pd.read_csv(out).set_index("lead_id")
    for p in predictions:
        low, high, conf, agreement = (p[name] for name in UNCERTAINTY_FIELDS)
        assert isinstance(low, float) and isinstance(high, float) and isinstance(agreement, float), p
        assert 0.0 <= low <= high <= 1.0
        assert conf == pytest.approx(1.0 - (high - low), abs=2e-6)
        assert 0.0 <= agreement <= 1.0
        row = offline.loc[p["lead_id"]]
        for name in UNCERTAINTY_FIELDS:
            assert p[name] == pytest.approx(row[name], abs=1e-6), (name, p)
    # an ensemble's members do not agree perfectly on every lead, and intervals are not all alike
    assert min(p["agreement"] for p in predictions) < 1.0
    assert len({p["interval_low"] for p in predictions}) > 5


def test_v2_rest_and_grpc_carry_the_same_fields_as_fp64_tensors(
    server: Predictor, uncertain_leads: list[dict[str, object]]
) -> None:
    leads = uncertain_leads[:10]
    v1 = _v1(server, leads)
    response = httpx.post(f"{server.http}/v2/models/{server.name}/infer", json=_v2_records(server.name, leads),
                          timeout=30)
    assert response.status_code == 200, response.text
    rest = {o["name"]: o for o in response.json()["outputs"]}
    with grpc.insecure_channel(server.grpc) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        tensor = pb.ModelInferRequest.InferInputTensor(
            name="records", datatype="BYTES", shape=[len(leads)],
            contents=pb.InferTensorContents(bytes_contents=[json.dumps(lead).encode() for lead in leads]))
        reply = GRPCInferenceServiceStub(channel).ModelInfer(
            pb.ModelInferRequest(model_name=server.name, id="u-grpc", inputs=[tensor]), timeout=30)
    over_grpc = {o.name: list(o.contents.fp64_contents) for o in reply.outputs if o.datatype == "FP64"}
    for name in UNCERTAINTY_FIELDS:
        assert rest[name]["datatype"] == "FP64"
        expected = [p[name] for p in v1]
        assert rest[name]["data"] == pytest.approx(expected, abs=1e-9)
        assert over_grpc[name] == pytest.approx(expected, abs=1e-9)


def test_a_single_model_has_no_agreement_and_the_rules_have_none_of_the_fields(
    ab_server: Predictor, rules_server: Predictor, uncertain_leads: list[dict[str, object]]
) -> None:
    seen = set()
    for p in _v1(ab_server, uncertain_leads):
        seen.add(p["model_version"])
        assert isinstance(p["interval_low"], float) and isinstance(p["confidence"], float), p
        if p["model_version"] == "v2":  # a single LightGBM: nothing to disagree with
            assert p["agreement"] is None, p
        else:
            assert isinstance(p["agreement"], float), p
    assert seen == {"v1", "v2"}
    kinds = set()
    for p in _v1(rules_server, uncertain_leads):
        kinds.add(p["model_type"])
        if p["model_type"] == "rules":
            assert all(p[name] is None for name in UNCERTAINTY_FIELDS), p
        else:
            assert all(isinstance(p[name], float) for name in UNCERTAINTY_FIELDS), p
    assert kinds == {"rules", "ensemble"}


@pytest.fixture(scope="module")
def old_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    """A version trained before intervals existed: no uncertainty.json."""
    artifact = build_artifact(tmp_path_factory.mktemp("artifacts") / "old", "old", seed=7, uncertainty=False)
    with running_predictor(artifact, tmp_path_factory.mktemp("logs"), name="pc-old") as predictor:
        yield predictor


def test_a_version_without_intervals_still_serves_with_the_fields_null(
    old_server: Predictor, uncertain_leads: list[dict[str, object]]
) -> None:
    predictions = _v1(old_server, uncertain_leads[:5])
    assert all(p[name] is None for p in predictions for name in UNCERTAINTY_FIELDS)
    assert all(isinstance(p["probability"], float) for p in predictions)
    response = httpx.post(f"{old_server.http}/v2/models/{old_server.name}/infer",
                          json=_v2_records(old_server.name, uncertain_leads[:5]), timeout=30)
    assert response.status_code == 200, response.text
    rest = {o["name"]: o["data"] for o in response.json()["outputs"]}
    for name in UNCERTAINTY_FIELDS:  # NaN in the tensor, which JSON carries as null
        assert all(v is None or (isinstance(v, float) and math.isnan(v)) for v in rest[name]), rest[name]


@pytest.fixture(scope="module")
def confident_server(artifact_v1: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    """spec.scoring with high at score 30, but only for leads whose confidence is 1 (none is)."""
    scoring = ('{"high":{"minScore":30,"action":"call_now","minConfidence":1.0},"medium":{"minScore":20,'
               '"action":"queue"},"low":{"minScore":5,"action":"email"}}')
    with running_predictor(artifact_v1, tmp_path_factory.mktemp("logs"), name="pc-confident",
                           env={"LEADSCORE_SCORING": scoring}) as predictor:
        yield predictor


def test_a_high_score_with_too_little_confidence_gets_the_next_tiers_action(
    confident_server: Predictor, uncertain_leads: list[dict[str, object]]
) -> None:
    predictions = _v1(confident_server, uncertain_leads)
    high_scores = [p for p in predictions if int(p["score"]) >= 30]
    assert high_scores  # the leads the rule is about exist
    for p in high_scores:
        assert p["confidence"] < 1.0
        assert (p["tier"], p["action"], p["sla"], p["priority"]) == ("medium", "queue", "4h", "P1"), p
    assert {p["tier"] for p in predictions} <= {"medium", "low", "very_low"}

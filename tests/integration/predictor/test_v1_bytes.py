"""A plain JSON V1 request is answered as JSON bytes built from the response columns
(``leadscore.predictor.v1json``): byte for byte the JSON of the dict answer KServe's route sent
before, for varied leads and every optional field (arm, control probability, out-of-range flags,
missing uncertainty, the rules fallback). In-process on real artifacts, and once through the real
server for the headers."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from predictor_servers import Predictor

from conftest import AB_SALT
from leadscore.predictor.config import ABSettings, PredictorSettings
from leadscore.predictor.model import LeadScoreModel
from leadscore.predictor.typed import raw_v1_decode

pytestmark = pytest.mark.integration

_ROUTE = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
"""FastAPI's ``ORJSONResponse`` options: how KServe's V1 route encodes a dict answer."""


def _kserve_decode(body: bytes, headers: Any, *_: Any) -> tuple[Any, dict[str, Any]]:
    return orjson.loads(body), {}


def _both_answers(model: LeadScoreModel, leads: list[dict[str, object]],
                  monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, bytes]:
    """(bytes answer, JSON of the dict answer) for the same scored request and processing time."""
    headers = {"content-type": "application/json"}
    payload, _ = raw_v1_decode(_kserve_decode, orjson.dumps({"instances": leads}), headers)
    scored = model.predict(model.preprocess(payload, headers), headers)
    assert scored.prepared.encoded
    as_dicts = dataclasses.replace(scored, prepared=dataclasses.replace(scored.prepared, encoded=False))
    with monkeypatch.context() as patched:
        patched.setattr(time, "perf_counter", lambda: scored.prepared.started + 0.0123456)
        encoded, answered = model.postprocess(scored, headers), model.postprocess(as_dicts, headers)
    assert isinstance(encoded, bytes) and isinstance(answered, dict)
    return encoded, orjson.dumps(answered, option=_ROUTE)


def _varied(leads: list[dict[str, object]], size: int) -> list[dict[str, object]]:
    """Leads with awkward ids, missing fields and values beyond the training range."""
    out: list[dict[str, object]] = []
    for i in range(size):
        lead = {**leads[i % len(leads)], "lead_id": f'crm-{i} "quoted", 50% naïve ☃\\'}
        if i % 3 == 1:
            lead.pop("time_on_site", None)
            lead["notes"] = None
        if i % 5 == 2:
            lead["pages_visited"] = 10_000
            lead["notes"] = "x" * 5000
        out.append(lead)
    return out


@pytest.mark.parametrize("size", [1, 5, 40])
def test_one_model_answers_bytes_equal_to_the_dict_answer(
    artifact_v1: Path, leads: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    model = LeadScoreModel("bytes", PredictorSettings(model_uri=str(artifact_v1), device="cpu", threads=1))
    model.load()
    encoded, as_dicts = _both_answers(model, _varied(leads, size), monkeypatch)
    assert encoded == as_dicts
    if size > 1:
        assert b'"out_of_range":["notes","pages_visited"]' in encoded


def test_an_experiment_answers_bytes_equal_to_the_dict_answer(
    artifact_v1: Path, artifact_v2: Path, leads: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    ab = ABSettings(experiment="bytes", control_uri=str(artifact_v1), treatment_uri=str(artifact_v2),
                    treatment_percent=50, salt=AB_SALT)
    model = LeadScoreModel("bytes-ab", PredictorSettings(model_uri=str(artifact_v1), device="cpu", threads=1, ab=ab))
    model.load()
    encoded, as_dicts = _both_answers(model, _varied(leads, 30), monkeypatch)
    assert encoded == as_dicts
    assert b'"arm":"treatment"' in encoded and b'"control_probability":' in encoded


def test_the_rules_fallback_answers_bytes_equal_to_the_dict_answer(
    artifact_v1: Path, leads: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = LeadScoreModel("bytes-fallback", PredictorSettings(model_uri=str(artifact_v1), device="cpu", threads=1))
    model.load()

    def fail(matrix: object) -> None:
        raise RuntimeError("simulated kernel failure")

    monkeypatch.setattr(model.arms[0].engines, "scored", fail)
    encoded, as_dicts = _both_answers(model, _varied(leads, 20), monkeypatch)
    assert encoded == as_dicts
    assert b'"model_type":"rules"' in encoded and b'"interval_low":null' in encoded


def test_a_cloudevent_content_type_still_gets_a_dict_for_kserve_to_wrap(artifact_v1: Path,
                                                                        leads: list[dict[str, object]]) -> None:
    model = LeadScoreModel("bytes-ce", PredictorSettings(model_uri=str(artifact_v1), device="cpu", threads=1))
    model.load()
    headers = {"content-type": "application/cloudevents+json"}
    payload, _ = raw_v1_decode(_kserve_decode, orjson.dumps({"instances": leads}), headers)
    answer = model.postprocess(model.predict(model.preprocess(payload, headers), headers), headers)
    assert isinstance(answer, dict) and len(answer["predictions"]) == len(leads)


def test_the_server_sends_the_bytes_as_json(server: Predictor, leads: list[dict[str, object]]) -> None:
    response = httpx.post(f"{server.http}/v1/models/{server.name}:predict", json={"instances": leads}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    assert [p["lead_id"] for p in response.json()["predictions"]] == [lead["lead_id"] for lead in leads]

"""Sticky A/B serving: two artifacts (or the rules) behind one endpoint, split by lead id."""

from __future__ import annotations

import httpx
import pytest
from predictor_servers import Predictor

from conftest import AB_SALT
from leadscore.predictor.routing import assign_arm
from leadscore.predictor.rules import rule_scores

pytestmark = pytest.mark.integration


def _predict(server: Predictor, leads: list[dict[str, object]]) -> list[dict[str, object]]:
    response = httpx.post(f"{server.http}/v1/models/{server.name}:predict", json={"instances": leads}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def _many(leads: list[dict[str, object]], n: int) -> list[dict[str, object]]:
    return [{**leads[i % len(leads)], "lead_id": f"crm-{i:05d}"} for i in range(n)]


def test_each_lead_gets_the_arm_of_its_salted_hash_and_that_arms_version(
    ab_server: Predictor, leads: list[dict[str, object]]
) -> None:
    predictions = _predict(ab_server, _many(leads, 40))
    for p in predictions:
        assert p["arm"] == assign_arm(p["lead_id"], AB_SALT, 50.0)
        assert p["model_version"] == {"control": "v1", "treatment": "v2"}[p["arm"]]
    assert {p["arm"] for p in predictions} == {"control", "treatment"}


def test_a_lead_keeps_its_arm_when_scored_again_alone_or_in_another_batch(
    ab_server: Predictor, leads: list[dict[str, object]]
) -> None:
    batch = _many(leads, 30)
    first = {p["lead_id"]: (p["arm"], p["probability"]) for p in _predict(ab_server, batch)}
    reordered = {p["lead_id"]: (p["arm"], p["probability"]) for p in _predict(ab_server, batch[::-1])}
    alone = {p["lead_id"]: (p["arm"], p["probability"]) for p in _predict(ab_server, [batch[7]])}
    assert first == reordered
    assert alone[batch[7]["lead_id"]] == first[batch[7]["lead_id"]]


def test_v2_outputs_carry_the_arm_per_lead_during_an_experiment(
    ab_server: Predictor, leads: list[dict[str, object]]
) -> None:
    import json

    batch = _many(leads, 10)
    body = {"inputs": [{"name": "records", "datatype": "BYTES", "shape": [10], "data": [json.dumps(x) for x in batch]}]}
    response = httpx.post(f"{ab_server.http}/v2/models/{ab_server.name}/infer", json=body, timeout=30)
    out = {o["name"]: o["data"] for o in response.json()["outputs"]}
    assert out["arm"] == [assign_arm(x["lead_id"], AB_SALT, 50.0) for x in batch]


def test_rules_control_scores_with_points_and_custom_tiers_when_configured(
    rules_server: Predictor, leads: list[dict[str, object]]
) -> None:
    batch = _many(leads, 40)
    predictions = _predict(rules_server, batch)
    expected_rules = dict(zip([x["lead_id"] for x in batch], rule_scores(batch).tolist(), strict=True))
    tiers = [(70, "high", "call_now"), (50, "medium", "queue"), (20, "low", "email"), (0, "very_low", "drop")]
    seen = set()
    for p in predictions:
        seen.add(p["arm"])
        assert p["arm"] == assign_arm(p["lead_id"], "rules-vs-v1", 30.0)  # salt defaults to the experiment
        if p["arm"] == "control":
            assert p["model_version"] == "rules-v1"
            assert abs(p["score"] - expected_rules[p["lead_id"]]) <= 0.5
        else:
            assert p["model_version"] == "v1"
        assert (p["tier"], p["action"]) == next(t[1:] for t in tiers if p["score"] >= t[0])
    assert seen == {"control", "treatment"}


def test_rules_arm_explains_with_points_when_asked(rules_server: Predictor, leads: list[dict[str, object]]) -> None:
    batch = _many(leads, 12)
    response = httpx.post(
        f"{rules_server.http}/v1/models/{rules_server.name}:explain", json={"instances": batch}, timeout=60
    )
    assert response.status_code == 200, response.text
    for explanation in response.json()["explanations"]:
        if explanation["arm"] == "control":
            assert explanation["unit"].startswith("points")
            assert sum(f["contribution"] for f in explanation["top_factors"]) <= explanation["score"] + 0.5
        else:
            assert explanation["unit"].startswith("log-odds")


def test_every_lead_carries_the_control_arms_probability_as_its_covariate(
    ab_server: Predictor, leads: list[dict[str, object]]
) -> None:
    batch = _many(leads, 40)
    predictions = _predict(ab_server, batch)
    control_scores = {}
    for p in predictions:
        if p["arm"] == "control":
            assert p["control_probability"] == p["probability"]
            control_scores[p["lead_id"]] = p["probability"]
    assert {p["arm"] for p in predictions} == {"control", "treatment"}
    # a treated lead's covariate is what the control would have said: the same lead under another id
    # lands in the control arm with exactly that probability
    features = {k: v for k, v in batch[0].items() if k != "lead_id"}
    twins = [{**features, "lead_id": f"twin-{i}"} for i in range(40)]
    scored = _predict(ab_server, twins)
    control_says = {p["probability"] for p in scored if p["arm"] == "control"}
    assert len(control_says) == 1
    assert {p["control_probability"] for p in scored} == control_says


def test_v2_outputs_carry_the_covariate(ab_server: Predictor, leads: list[dict[str, object]]) -> None:
    import json

    batch = _many(leads, 10)
    body = {"inputs": [{"name": "records", "datatype": "BYTES", "shape": [10], "data": [json.dumps(x) for x in batch]}]}
    response = httpx.post(f"{ab_server.http}/v2/models/{ab_server.name}/infer", json=body, timeout=30)
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    assert outputs["control_probability"]["datatype"] == "FP64"
    assert len(outputs["control_probability"]["data"]) == 10


def test_a_rules_control_gives_the_rules_score_as_covariate(
    rules_server: Predictor, leads: list[dict[str, object]]
) -> None:
    batch = _many(leads, 30)
    expected = dict(zip([x["lead_id"] for x in batch], rule_scores(batch).tolist(), strict=True))
    for p in _predict(rules_server, batch):
        assert abs(p["control_probability"] * 100 - expected[p["lead_id"]]) <= 0.5

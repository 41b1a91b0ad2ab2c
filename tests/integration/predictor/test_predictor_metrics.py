"""Our Prometheus series appear on KServe's /metrics with the labels dashboards group by."""

from __future__ import annotations

import re

import httpx
import pytest
from predictor_servers import Predictor

pytestmark = pytest.mark.integration


def _series(server: Predictor) -> str:
    return httpx.get(f"{server.http}/metrics").text


def _value(text: str, pattern: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if re.match(pattern, line):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_count_predictions_by_version_arm_and_tier_when_leads_are_scored(
    ab_server: Predictor, leads: list[dict[str, object]]
) -> None:
    before = _value(_series(ab_server), r'leadscore_predictions_total\{.*model_version="v2"')
    batch = [{**leads[i % len(leads)], "lead_id": f"m-{i}"} for i in range(30)]
    predictions = httpx.post(f"{ab_server.http}/v1/models/{ab_server.name}:predict", json={"instances": batch}).json()[
        "predictions"
    ]
    text = _series(ab_server)
    treated = sum(p["arm"] == "treatment" for p in predictions)
    after = _value(text, r'leadscore_predictions_total\{.*model_version="v2"')
    assert after - before == treated
    assert re.search(
        r'leadscore_predictions_total\{arm="treatment",model_name="pc-ab",model_version="v2",'
        r'tier="(high|medium|low|very_low)"\}',
        text,
    )
    assert re.search(r'leadscore_score_bucket\{arm="control",le="100",model_name="pc-ab",model_version="v1"\}', text)
    assert _value(text, r"leadscore_score_count\{") >= len(predictions)
    assert _value(text, r'leadscore_request_seconds_count\{model_name="pc-ab",verb="predict"\}') >= 1


def test_metrics_count_refusals_by_reason_when_requests_are_bad(
    server: Predictor, leads: list[dict[str, object]]
) -> None:
    before = _series(server)
    httpx.post(
        f"{server.http}/v1/models/{server.name}:predict", json={"instances": [{**leads[0], "pages_visited": -1}]}
    )
    httpx.post(f"{server.http}/v1/models/{server.name}:predict", json={"instances": [leads[0]] * 51})
    after = _series(server)
    for reason in ("invalid_record", "batch_too_large"):
        pattern = rf'leadscore_errors_total\{{model_name="pc",reason="{reason}"\}}'
        assert _value(after, pattern) == _value(before, pattern) + 1


def test_metrics_include_kserve_stage_histograms_when_serving(server: Predictor) -> None:
    assert "request_predict_seconds_bucket" in _series(server)

"""The predictor writes JSON log lines, its own and KServe's, when ``LEADSCORE_LOG_FORMAT=json``.

(How a CRM's trace continues through KServe's real agent into the collector is in
tests/integration/kserve/test_agent_logs_to_collector.py.)
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from integration.predictor.predictor_artifacts import build_artifact
from integration.predictor.predictor_servers import Predictor, running_predictor
from support.polling import eventually
from support.spans import TRACED, log_entries

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    artifact = build_artifact(tmp_path_factory.mktemp("artifacts") / "v1", "v1", algorithms=("lr",), seed=7)
    env = {**TRACED, "LEADSCORE_LOG_FORMAT": "json"}
    with running_predictor(artifact, tmp_path_factory.mktemp("logs"), name="pc", env=env) as running:
        yield running


def test_the_predictor_writes_json_log_lines_when_asked(predictor: Predictor) -> None:
    refused = httpx.post(f"{predictor.http}/v1/models/pc:predict", content=b"{not json", timeout=30,
                         headers={"Content-Type": "application/json"})
    assert refused.status_code == 400
    log = predictor.process.log_path
    eventually(lambda: any(e["logger"] == "leadscore.predictor" and "refused" in e["message"]
                           for e in log_entries(log)), what="the refusal logged as JSON", timeout=30)
    entries = log_entries(log)
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert "kserve" in {e["logger"] for e in entries}  # KServe's own lines (model registered, server started)
    plain = [line for line in log.read_text(errors="replace").splitlines()
             if line[:4].isdigit() and " kserve" in line]  # KServe's default text format
    assert not plain

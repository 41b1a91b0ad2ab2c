"""Model health and retraining that triggers itself, against the real kube-apiserver and a real
collector process: the operator reads drift and live accuracy from the collector, writes
status.health, and starts a training with the reason recorded, never inside the cooldown and
never on fewer matured leads than spec.retrain.minOutcomes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from operator_harness import LSM, condition, consistently, finish_training, model, version_recorded

from leadscore.api.results import TrainingResult
from support.collector import running_collector
from support.polling import eventually
from support.processes import free_port
from unit.collector.kserve_logger import headers, response_body, scored
from unit.collector.test_collector_drift import records as leads
from unit.collector.test_collector_drift import write_reference

pytestmark = pytest.mark.integration

@pytest.fixture
def collector_url(cluster, monkeypatch, tmp_path) -> str:
    """The real collector on SQLite; the operator (started after this fixture) reads it every second
    and serves its own /metrics on a free port (``LEADSCORE_METRICS_PORT``, read back by the tests)."""
    with running_collector(f"sqlite:///{tmp_path / 'events.db'}", tmp_path / "collector.log") as url:
        monkeypatch.setenv("LEADSCORE_COLLECTOR_URL", url)
        monkeypatch.setenv("LEADSCORE_HEALTH_SECONDS", "1")
        monkeypatch.setenv("LEADSCORE_METRICS_PORT", str(free_port()))
        yield url


def operator_metrics() -> str:
    import os

    return httpx.get(f"http://127.0.0.1:{os.environ['LEADSCORE_METRICS_PORT']}/metrics", timeout=10).text


def artifact_with_profile(tmp_path: Path, version: str) -> Path:
    return write_reference(tmp_path / "artifacts" / version)


def finish_with_artifact(cluster, version: str, directory: Path, auc: float) -> None:
    result = TrainingResult(status="Succeeded", model_name="m", version=version, artifact_uri=str(directory) + "/",
                            metrics={"roc_auc": auc}, shipped="lr")
    eventually(lambda: cluster.status(LSM, "m").get("training", {}).get("version") == version,
               what=f"training {version} started", timeout=60)
    finish_training(cluster, "m", version, message=result.to_termination_message())
    eventually(lambda: version_recorded(cluster, "m", version), what=f"{version} recorded", timeout=60)


def serve(url: str, namespace: str, served: list[dict], probabilities: list[float], at: datetime,
          prefix: str) -> None:
    """Play KServe's logger: both halves of each 200-lead request, scored by v1 at ``at``."""
    stamp = at.isoformat().replace("+00:00", "Z")
    with httpx.Client(base_url=url, timeout=30) as client:
        for start in range(0, len(served), 200):
            chunk, probs = served[start : start + 200], probabilities[start : start + 200]
            bodies = {"request": json.dumps({"instances": chunk}).encode(),
                      "response": response_body(*(scored(r["lead_id"], p, version="v1")
                                                  for r, p in zip(chunk, probs, strict=True)))}
            for kind, body in bodies.items():
                posted = client.post("/v1/events", content=body,
                                     headers=headers(f"{prefix}-{start}", kind, isvc="m", namespace=namespace,
                                                     time=stamp))
                assert posted.status_code == 200, posted.text


def test_drift_starts_a_training_with_its_reason_and_the_cooldown_holds_the_next(cluster, collector_url,
                                                                                 operator, tmp_path):
    retrain = {"drift": {"fields": 1}, "cooldown": "20s"}
    cluster.create(LSM, model(retrain=retrain))
    finish_with_artifact(cluster, "v1", artifact_with_profile(tmp_path, "v1"), auc=0.8)
    cluster.patch(LSM, "m", {"spec": {"serving": {"pinnedVersion": "v1"}}})  # v1 keeps serving after v2
    served = leads(800, 2, referral=0.7)  # referrals went from 30 % to 70 % of the leads; scores did not move
    serve(collector_url, cluster.namespace, served, list(np.random.default_rng(5).beta(2, 8, len(served))),
          datetime.now(UTC), "a")
    health = eventually(lambda: (h := cluster.status(LSM, "m").get("health")) and h.get("summary") == "Drift" and h,
                        what="health Drift", timeout=60)
    assert health["version"] == "v1" and health["drift"]["driftedFields"] == ["source"]
    assert health["drift"]["leads"] == 800 and "lastEvaluated" in health
    run = eventually(lambda: (t := cluster.status(LSM, "m").get("training", {})).get("version") == "v2" and t,
                     what="drift retraining started (after the 20 s cooldown from v1's training)", timeout=90)
    assert run["trigger"] == "drift"
    # a long cooldown from here on: a slow machine cannot outlast it before the checks below
    cluster.patch(LSM, "m", {"spec": {"retrain": {"cooldown": "10m"}}})
    trained = condition(cluster, "m", "Trained")
    assert "(drift: 1 fields drifted (source) >= 1)" in trained["message"]
    assert any(e.reason == "RetrainTriggered" and "drift" in e.message for e in cluster.events("m"))
    finish_with_artifact(cluster, "v2", artifact_with_profile(tmp_path, "v2"), auc=0.8)
    assert version_recorded(cluster, "m", "v2")["trigger"] == "drift"
    # v1 is pinned and still drifting: the cooldown (10 min from v2's start) holds a third training
    held = eventually(lambda: (c := condition(cluster, "m", "Healthy")) and "held by the cooldown" in c["message"]
                      and c, what="retraining held by the cooldown", timeout=30)
    assert held["status"] == "False"
    consistently(lambda: cluster.status(LSM, "m")["training"]["version"] == "v2", what="no v3 in the cooldown",
                 duration=5)
    text = operator_metrics()
    ns = cluster.namespace
    assert f'leadscore_trainings_total{{model="m",namespace="{ns}",result="succeeded"}} 2.0' in text
    assert f'leadscore_model_drifted_fields{{model="m",namespace="{ns}"}} 1.0' in text
    assert 'leadscore_operator_reconcile_seconds_count{kind="LeadScoringModel"}' in text


def test_degradation_waits_for_the_minimum_outcomes_then_retrains(cluster, collector_url, operator, tmp_path):
    retrain = {"degradation": {"margin": 0.03}, "minOutcomes": 300, "maturity": "1s", "cooldown": "1s"}
    cluster.create(LSM, model(retrain=retrain))
    finish_with_artifact(cluster, "v1", artifact_with_profile(tmp_path, "v1"), auc=0.9)
    rng = np.random.default_rng(3)

    def scored_and_converted(n: int, prefix: str) -> None:
        """Leads whose outcomes the scores no longer predict (converted at random)."""
        at = datetime.now(UTC)
        served = leads(n, int(rng.integers(1_000_000)), referral=0.3)
        serve(collector_url, cluster.namespace, served, list(rng.uniform(0.05, 0.95, n)), at, prefix)
        outcomes = [{"lead_id": r["lead_id"], "converted": bool(rng.random() < 0.3),
                     "occurred_at": (at + timedelta(milliseconds=500)).isoformat()} for r in served]
        url = f"{collector_url}/v1/namespaces/{cluster.namespace}/outcomes"
        posted = httpx.post(url, json={"outcomes": outcomes}, timeout=30)
        assert posted.status_code == 200, posted.text

    scored_and_converted(200, "few")
    time.sleep(1.5)  # the maturity delay
    health = eventually(lambda: (h := cluster.status(LSM, "m").get("health")) and h.get("maturedLeads") == 200 and h,
                        what="200 matured leads in status.health", timeout=60)
    assert health["liveRocAucLower"] <= health["liveRocAuc"] <= health["liveRocAucUpper"]
    assert health["trainingRocAuc"] == 0.9 and {t["tier"] for t in health["conversionByTier"]} >= {"low"}
    # well below 0.9, but 200 < minOutcomes: no verdict, no training
    consistently(lambda: cluster.status(LSM, "m")["training"]["version"] == "v1", what="no retraining below "
                 "minOutcomes", duration=4)
    scored_and_converted(300, "more")
    run = eventually(lambda: (t := cluster.status(LSM, "m").get("training", {})).get("version") == "v2" and t,
                     what="degradation retraining started", timeout=60)
    assert run["trigger"] == "degradation"
    assert "below the training AUC 0.900" in condition(cluster, "m", "Trained")["message"]


def test_status_names_the_stage_the_running_training_reported(cluster, operator, tmp_path):
    from leadscore.api.results import TrainingProgress, progress_uri

    cluster.create(LSM, model())
    eventually(lambda: cluster.status(LSM, "m").get("training", {}).get("version") == "v1", what="v1 started")
    uri = progress_uri(str(tmp_path / "artifacts" / cluster.namespace / "m" / "v1"))
    for stage in ("loading s3://leads/health.parquet", "tuning lightgbm 12/25 best 0.3987"):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        # the trainer's part
        Path(uri).write_text(TrainingProgress(stage=stage, at=datetime.now(UTC)).model_dump_json())
        eventually(lambda s=stage: cluster.status(LSM, "m")["training"].get("stage") == s, what=f"stage {stage!r}")

"""The whole path on one machine, as a user on a cluster sees it (README, "Architecture").

``kubectl apply`` of a LeadScoringModel whose dataset sits in the S3 server; the operator's
training Job run for real (the test plays the kubelet); the artifact in the bucket and the
MLflow run; the InferenceService the operator renders, reconciled by the real KServe
controller into a Pod whose containers the test runs (storage initializer, predictor, logger);
a retrained version; a sticky ABExperiment scored over HTTP, outcomes posted to the collector, concluded by the
operator's timer and acted on; the model deleted and its children garbage-collected.

The scenario (data, model, experiment, sales floor) is support/lifecycle.py's, shared with the
same lifecycle on a real node (tests/node/test_lifecycle_on_node.py).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from e2e_kserve import Predictor, log_inference, serve_isvc
from e2e_kubelet import local_executable, run_job_pod

from leadscore.api.results import TrainingResult
from leadscore.data import synth
from support.kserve import INGRESS_DOMAIN
from support.lifecycle import (
    EARLY_EXPORT,
    EXPERIMENT,
    HISTORY_ROWS,
    INCOMING_ROWS,
    MODEL,
    SEED,
    ab_experiment,
    lead_scoring_model,
    records,
    sales_floor,
)
from support.polling import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.kserve]

LSM, ABX = "leadscoringmodels", "abexperiments"
MODEL_PODS = "leadscoring.io/model=pc-leads"


def synth_csv(path: Path, rows: int, seed: int) -> pd.DataFrame:
    """``leadscore data synth``, as a user makes a dataset; read back for the test's own use."""
    args = ["data", "synth", "--vertical", "pc", "--rows", str(rows), "--seed", str(seed), "--output", str(path)]
    subprocess.run([local_executable("leadscore"), *args], check=True, capture_output=True, timeout=120)
    return pd.read_csv(path)


def upload(s3_server: Any, bucket: str, key: str, path: Path) -> str:
    s3_server.client().fput_object(bucket, key, str(path))
    return f"s3://{bucket}/{key}"


def model_status(cluster: Any) -> dict[str, Any]:
    return cluster.status(LSM, MODEL)


def version_record(cluster: Any, version: str) -> dict[str, Any] | None:
    return next((v for v in model_status(cluster).get("versions", []) if v["version"] == version), None)


def isvc_env(isvc: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in isvc["spec"]["predictor"]["model"].get("env", [])}


def train_version(cluster: Any, s3_server: Any, mlflow_uri: str, version: str, workdir: Path) -> TrainingResult:
    """Wait for the operator's Job of ``version``, run its pod; check the bucket and MLflow."""
    from mlflow.tracking import MlflowClient

    job_name = f"{MODEL}-train-{version}"
    job = eventually(lambda: next((j for j in cluster.jobs(MODEL) if j.metadata.name == job_name), None),
                     what=f"training Job {job_name}", timeout=60)
    assert job.metadata.owner_references[0].name == MODEL
    run = run_job_pod(cluster, job_name, workdir / job_name)
    assert run.exit_code == 0, run.log.read_text()[-4000:]
    result = TrainingResult.model_validate_json(run.termination_message)
    prefix = f"{cluster.namespace}/{MODEL}/{version}/"
    assert result.artifact_uri.rstrip("/").endswith(prefix.rstrip("/"))
    bucket = result.artifact_uri.removeprefix("s3://").split("/", 1)[0]
    stored = {o.object_name.removeprefix(prefix)
              for o in s3_server.client().list_objects(bucket, prefix=prefix, recursive=True)}
    assert {"model.onnx", "feature_spec.json", "model_card.json", "result.json"} <= stored
    mlflow = MlflowClient(mlflow_uri)
    assert mlflow.get_run(result.mlflow_run_id).info.status == "FINISHED"
    registered = mlflow.get_model_version(result.mlflow_registered_model, result.mlflow_model_version)
    assert registered.run_id == result.mlflow_run_id and registered.tags["leadscore.version"] == version
    eventually(lambda: cluster.batch.read_namespaced_job(job_name, cluster.namespace).status.succeeded,
               what=f"Job {job_name} Complete", timeout=60)
    eventually(lambda: version_record(cluster, version), what=f"{version} in the model's status", timeout=60)
    return result


def serve_current(cluster: Any, predictors: list[Predictor], workdir: Path,
                  ready: Any) -> tuple[dict[str, Any], Predictor]:
    """Play KServe for the ISVC once it is as ``ready(isvc)`` wants: a new revision replaces the old."""
    isvc = eventually(lambda: (i := cluster.isvc(MODEL)) is not None and ready(i) and i,
                      what="the InferenceService the operator renders", timeout=60)
    for old in predictors:
        old.process.stop()
    predictor = serve_isvc(cluster, isvc, workdir)
    predictors.append(predictor)
    return isvc, predictor


def test_lead_scoring_runs_train_serve_experiment_and_cleanup_when_driven_like_a_cluster(
        cluster, bucket, s3_server, mlflow_server, collector_url, operator_process, predictors, tmp_path):
    import httpx

    started = time.monotonic()
    history = synth_csv(tmp_path / "history.csv", HISTORY_ROWS, SEED)
    incoming = synth.generate("pc", INCOMING_ROWS, SEED + 1)  # the CRM's new leads, another sample
    history[EARLY_EXPORT].to_csv(tmp_path / "early.csv", index=False)
    dataset_uri = upload(s3_server, bucket, "datasets/pc-leads.csv", tmp_path / "early.csv")

    # 1. kubectl apply; the operator's Job trains v1 for real; v1 is served.
    cluster.create(LSM, lead_scoring_model(dataset_uri))
    v1 = train_version(cluster, s3_server, mlflow_server.uri, "v1", tmp_path)
    eventually(lambda: model_status(cluster).get("activeVersion") == "v1", what="v1 active", timeout=60)
    isvc, predictor = serve_current(cluster, predictors, tmp_path / "serve-v1",
                                    lambda i: i["spec"]["predictor"]["model"]["storageUri"] == v1.artifact_uri)
    assert isvc["metadata"]["ownerReferences"][0]["name"] == MODEL
    assert isvc["spec"]["predictor"]["logger"]["url"] == f"{collector_url}/v1/events"
    status = eventually(lambda: (s := model_status(cluster)).get("phase") == "Ready" and s,
                        what="model phase Ready", timeout=60)
    assert status["endpoint"] == f"http://{MODEL}-{cluster.namespace}.{INGRESS_DOMAIN}"  # from KServe

    leads = records(incoming)
    request, response = predictor.predict(leads[:25])
    scored = response["predictions"]
    assert [p["lead_id"] for p in scored] == [lead["lead_id"] for lead in leads[:25]]
    assert {p["model_version"] for p in scored} == {"v1"}
    assert all(0.0 <= p["probability"] <= 1.0 for p in scored)
    assert {p["tier"] for p in scored} - {"very_low"}, "spec.scoring tiers did not reach the predictor"
    answers = log_inference(predictor, request, response)
    assert answers[-1]["predictions_stored"] == 25

    # 2. New data (the full export) lands at the same URI; retrain by annotation; v2 is only recorded.
    cluster.patch(LSM, MODEL, {"spec": {"promotion": {"autoRollout": False}}})
    synth.drop_ground_truth(history).to_csv(tmp_path / "full.csv", index=False)
    upload(s3_server, bucket, "datasets/pc-leads.csv", tmp_path / "full.csv")
    cluster.patch(LSM, MODEL, {"metadata": {"annotations": {"leadscoring.io/retrain": "full-export"}}})
    v2 = train_version(cluster, s3_server, mlflow_server.uri, "v2", tmp_path)
    assert v2.metrics["roc_auc"] > v1.metrics["roc_auc"] + 0.05
    assert model_status(cluster)["activeVersion"] == "v1"

    # 3. A sticky A/B test v1 (control) vs v2 (treatment), the split rendered into the ISVC.
    cluster.create(ABX, ab_experiment())
    isvc, predictor = serve_current(cluster, predictors, tmp_path / "serve-ab",
                                    lambda i: isvc_env(i).get("LEADSCORE_AB_EXPERIMENT") == EXPERIMENT)
    assert isvc_env(isvc)["LEADSCORE_AB_TREATMENT_URI"] == v2.artifact_uri
    assert isvc["metadata"]["annotations"]["leadscoring.io/experiment"] == EXPERIMENT
    predictions = []
    for start in range(0, len(leads), 500):
        request, response = predictor.predict(leads[start:start + 500])
        log_inference(predictor, request, response)
        predictions += response["predictions"]
    assert {(p["arm"], p["model_version"]) for p in predictions} == {("control", "v1"), ("treatment", "v2")}
    arms = {"control": "v1", "treatment": "v2"}
    _, again = predictor.predict(leads[:50])
    assert [p["arm"] for p in again["predictions"]] == [p["arm"] for p in predictions[:50]]

    truth = dict(zip(incoming["lead_id"], incoming["true_probability"], strict=True))
    outcomes = sales_floor(predictions, truth)
    posted = httpx.post(f"{collector_url}/v1/namespaces/{cluster.namespace}/outcomes", json={"outcomes": outcomes},
                        timeout=120)
    assert posted.status_code == 200 and posted.json()["stored"] == len(outcomes), posted.text

    # 4. The operator's timer reads the collector's summary, concludes, and promotes v2.
    concluded = eventually(lambda: (s := cluster.status(ABX, EXPERIMENT)).get("phase") == "Concluded" and s,
                           what="experiment Concluded", timeout=120, interval=1.0)
    assert concluded["decision"] == "promote", concluded
    assert concluded["pValue"] < 0.05 and concluded["liftLower"] > 0
    arm_of = {p["lead_id"]: p["arm"] for p in predictions}
    converted = {arm: sum(o["converted"] and arm_of[o["lead_id"]] == arm for o in outcomes) for arm in arms}
    for arm, version in arms.items():
        assert concluded[arm]["version"] == version
        assert concluded[arm]["exposures"] == sum(p["arm"] == arm for p in predictions)
        assert concluded[arm]["conversions"] == converted[arm]
    eventually(lambda: model_status(cluster).get("activeVersion") == "v2", what="v2 promoted", timeout=60)
    eventually(lambda: (i := cluster.isvc(MODEL))["spec"]["predictor"]["model"]["storageUri"] == v2.artifact_uri
               and "LEADSCORE_AB_EXPERIMENT" not in isvc_env(i), what="ISVC serves v2 alone", timeout=60)

    # 5. Deleting the model garbage-collects its Jobs and InferenceService.
    cluster.delete(ABX, EXPERIMENT)
    eventually(lambda: cluster.get(ABX, EXPERIMENT) is None, what="experiment deleted", timeout=60)
    cluster.delete(LSM, MODEL)
    eventually(lambda: cluster.get(LSM, MODEL) is None, what="model deleted (finalizer released)", timeout=60)
    eventually(lambda: cluster.isvc(MODEL) is None, what="InferenceService collected", timeout=60)
    eventually(lambda: not cluster.jobs(MODEL), what="training Jobs collected", timeout=60)
    eventually(lambda: not cluster.core.list_namespaced_pod(cluster.namespace, label_selector=MODEL_PODS).items,
               what="training pods collected", timeout=60)
    print(f"\ne2e lifecycle: {time.monotonic() - started:.0f}s; {concluded['decisionReason']}")


"""LeadScoringModel reconciled by the real operator against the real apiserver and the real KServe
controller; the test plays the kubelet (a trainer pod exits, a predictor pod becomes ready)."""

from __future__ import annotations

import copy

import pytest
from operator_harness import (
    LSM,
    condition,
    consistently,
    finish_training,
    model,
    predictor_pod,
    retrain,
    running_operator,
    trained,
    version_recorded,
)

from leadscore.api.results import TrainingResult
from support.kserve import INGRESS_DOMAIN
from support.kubelet import make_ready
from support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.kserve]

def test_model_creates_exactly_one_gpu_job_with_the_spec_when_applied(cluster, operator):
    training = {"algorithms": ["xgboost"], "gpu": 1, "nodeSelector": {"pool": "a100"}}
    cluster.create(LSM, model(training=training))
    jobs = eventually(lambda: cluster.jobs("m"), what="training job")
    consistently(lambda: len(cluster.jobs("m")) == 1, what="exactly one Job", duration=4)
    job = jobs[0]
    pod = job.spec.template.spec
    container = pod.containers[0]
    assert job.metadata.name == "m-train-v1"
    assert job.metadata.owner_references[0].kind == "LeadScoringModel"
    assert container.resources.limits["nvidia.com/gpu"] == "1"
    assert pod.node_selector == {"nvidia.com/gpu.present": "true", "pool": "a100"}
    assert any(t.key == "nvidia.com/gpu" for t in pod.tolerations)
    assert container.args[container.args.index("--device") + 1] == "cuda"
    assert container.args[container.args.index("--output") + 1].endswith(f"/{cluster.namespace}/m/v1/")
    assert job.spec.backoff_limit == 1 and job.spec.ttl_seconds_after_finished == 86400
    status = eventually(lambda: (s := cluster.status(LSM, "m")).get("phase") == "Training" and s,
                        what="phase Training")
    assert status["lastTrainingJob"] == "m-train-v1"


def test_success_records_a_version_and_creates_the_isvc_when_the_pod_finishes(cluster, operator):
    cluster.create(LSM, model())
    version = trained(cluster, "m", "v1", auc=0.81)
    assert version["metrics"]["roc_auc"] == 0.81 and version["gate"] == "Passed"
    assert version["mlflowRunId"] == "run-v1"
    assert version["tiers"] == [{"tier": "high", "minScore": 41, "topPercent": 5, "heldOutPercent": 5.2},
                                {"tier": "very_low", "minScore": 0, "heldOutPercent": 50.6}]  # kept by the apiserver
    isvc = eventually(lambda: cluster.isvc("m"), what="InferenceService")
    predictor = isvc["spec"]["predictor"]
    assert predictor["model"]["storageUri"] == f"s3://bucket/{cluster.namespace}/m/v1/"
    assert predictor["model"]["runtime"] == "leadscore"
    assert predictor["logger"]["url"].endswith("/v1/events")
    assert isvc["metadata"]["ownerReferences"][0]["name"] == "m"
    eventually(lambda: cluster.jobs("m")[0].status.succeeded == 1, what="job controller marks the Job done")
    # KServe's own words, mirrored: its Deployment waits for a ready pod
    eventually(lambda: (c := condition(cluster, "m", "Serving")) and c["status"] == "Unknown"
               and "Deployment does not have minimum availability" in c["message"],
               what="Serving=Unknown while KServe waits for the predictor", timeout=90)
    # play the kubelet: the predictor pod KServe's Deployment made is ready; KServe does the rest
    make_ready(cluster.core, predictor_pod(cluster, "m"))
    status = eventually(lambda: (s := cluster.status(LSM, "m")).get("phase") == "Ready" and s,
                        what="phase Ready", timeout=90)
    assert (status["activeVersion"], status["endpoint"], status["activeRocAuc"]) == \
        ("v1", f"http://m-{cluster.namespace}.{INGRESS_DOMAIN}", 0.81)
    assert any(e.reason == "VersionPromoted" for e in cluster.events("m"))


def test_failed_gate_keeps_the_active_version_when_new_auc_is_lower(cluster, operator):
    cluster.create(LSM, model(promotion={"minRocAuc": 0.6, "minGain": 0.01}))
    trained(cluster, "m", "v1", auc=0.80)
    retrain(cluster, "m", "1")
    v2 = trained(cluster, "m", "v2", auc=0.795)
    assert v2["gate"] == "Failed" and "minGain" in v2["gateMessage"]
    status = cluster.status(LSM, "m")
    assert (status["activeVersion"], status["latestVersion"]) == ("v1", "v2")
    trained_condition = condition(cluster, "m", "Trained")
    assert (trained_condition["status"], trained_condition["reason"]) == ("False", "MetricsBelowThreshold")
    assert cluster.isvc("m")["spec"]["predictor"]["model"]["storageUri"].endswith("/m/v1/")
    assert any(e.reason == "MetricsBelowThreshold" and e.type == "Warning" for e in cluster.events("m"))


def test_failed_job_sets_a_condition_and_an_event_when_the_trainer_exits_with_a_data_error(cluster, operator):
    cluster.create(LSM, model())
    trained(cluster, "m", "v1")
    retrain(cluster, "m", "again")
    eventually(lambda: cluster.status(LSM, "m").get("training", {}).get("version") == "v2", what="v2 started")
    failure = TrainingResult(status="Failed", reason="LeakyColumns",
                             message="column policy_issued leaks the target (AUC 0.99 alone)")
    finish_training(cluster, "m", "v2", succeeded=False, message=failure.to_termination_message(),
                    exit_code=4)
    found = eventually(lambda: (c := condition(cluster, "m", "Trained")) and c["reason"] == "JobFailed" and c,
                       what="Trained=False JobFailed", timeout=60)
    assert "LeakyColumns: column policy_issued leaks the target" in found["message"]
    assert "v1 keeps serving" in found["message"]
    assert cluster.status(LSM, "m")["activeVersion"] == "v1"
    assert cluster.jobs("m")[-1].spec.backoff_limit == 1  # no retry for exit 4: podFailurePolicy
    assert any(e.reason == "JobFailed" and e.type == "Warning" for e in cluster.events("m"))
    assert cluster.status(LSM, "m")["phase"] == "Degraded" or \
        condition(cluster, "m", "Serving")["reason"] in ("InferenceServiceNotReady", "InferenceServiceReady")


def test_pinned_version_rolls_the_isvc_back_when_set(cluster, operator):
    cluster.create(LSM, model())
    trained(cluster, "m", "v1", auc=0.80)
    retrain(cluster, "m", "1")
    trained(cluster, "m", "v2", auc=0.85)
    eventually(lambda: cluster.isvc("m")["spec"]["predictor"]["model"]["storageUri"].endswith("/m/v2/"),
               what="v2 served")
    cluster.patch(LSM, "m", {"spec": {"serving": {"pinnedVersion": "v1"}}})
    eventually(lambda: cluster.isvc("m")["spec"]["predictor"]["model"]["storageUri"].endswith("/m/v1/"),
               what="ISVC back on v1")
    assert eventually(lambda: cluster.status(LSM, "m").get("servedVersion") == "v1", what="status v1")
    assert cluster.status(LSM, "m")["activeVersion"] == "v2"  # unpinning returns to it
    assert len(cluster.jobs("m")) == 2  # a serving change trains nothing


def test_restart_adopts_the_running_job_and_creates_no_duplicate_when_operator_restarts(cluster):
    cluster.create(LSM, model())
    with running_operator(cluster.namespace):
        eventually(lambda: cluster.jobs("m"), what="training job")
    # the operator is gone; the pod is still running. A new operator must adopt, not duplicate.
    with running_operator(cluster.namespace):
        consistently(lambda: len(cluster.jobs("m")) == 1, what="exactly one Job after restart", duration=4)
        finish_training(cluster, "m", "v1")
        eventually(lambda: version_recorded(cluster, "m", "v1"), what="v1 recorded after restart")
    assert [j.metadata.name for j in cluster.jobs("m")] == ["m-train-v1"]


def test_restart_adopts_a_job_missing_from_status_when_the_operator_died_before_writing_it(cluster):
    from leadscore.api.leadscoringmodel import LeadScoringModelSpec
    from leadscore.operator.builders import training_job_manifest
    from leadscore.operator.settings import OperatorSettings

    created = cluster.create(LSM, model())
    job = training_job_manifest(cluster.namespace, "m", "v1", "/tmp/x/", LeadScoringModelSpec.model_validate(
        copy.deepcopy(created["spec"])), OperatorSettings())
    job["metadata"]["ownerReferences"] = [{"apiVersion": created["apiVersion"], "kind": created["kind"],
                                           "name": "m", "uid": created["metadata"]["uid"]}]
    cluster.batch.create_namespaced_job(cluster.namespace, job)
    with running_operator(cluster.namespace):
        status = eventually(lambda: cluster.status(LSM, "m").get("training"), what="training recorded")
        consistently(lambda: len(cluster.jobs("m")) == 1, what="exactly one Job", duration=3)
    assert status["jobName"] == "m-train-v1"


def test_deleting_the_model_garbage_collects_job_and_isvc_when_owner_goes(cluster, operator):
    cluster.create(LSM, model())
    trained(cluster, "m", "v1")
    eventually(lambda: cluster.isvc("m"), what="InferenceService")
    cluster.delete(LSM, "m")
    eventually(lambda: cluster.isvc("m") is None and not cluster.jobs("m"),
               what="Job and ISVC garbage-collected", timeout=90)


def test_retention_deletes_old_artifacts_and_keeps_the_active_when_over_the_limit(cluster, operator,
                                                                                  tmp_path):
    from leadscore.api.artifact import artifact_uri

    cluster.create(LSM, model(retention={"keepVersions": 1}))
    root = str(tmp_path / "artifacts")
    for number in (1, 2, 3):
        version = f"v{number}"
        directory = tmp_path / "artifacts" / cluster.namespace / "m" / version
        directory.mkdir(parents=True)
        (directory / "model.onnx").write_bytes(b"onnx")
        if number > 1:
            retrain(cluster, "m", str(number))
        eventually(lambda v=version: cluster.status(LSM, "m").get("training", {}).get("version") == v,
                   what=f"{version} started")
        result = TrainingResult(status="Succeeded", version=version,
                                artifact_uri=artifact_uri(root, cluster.namespace, "m", version),
                                metrics={"roc_auc": 0.7 + number / 100})
        finish_training(cluster, "m", version, message=result.to_termination_message())
        eventually(lambda v=version: version_recorded(cluster, "m", v), what=f"{version} recorded")
    versions = eventually(lambda: (vs := cluster.status(LSM, "m")["versions"])[0]["artifactsDeleted"] and vs,
                          what="v1 artifacts deleted")
    assert [v["artifactsDeleted"] for v in versions] == [True, False, False]  # v2 is the previous version
    assert not (tmp_path / "artifacts" / cluster.namespace / "m" / "v1").exists()
    assert (tmp_path / "artifacts" / cluster.namespace / "m" / "v3" / "model.onnx").exists()


def test_operator_acts_when_run_with_kopf_peering(cluster):
    """--peering (as the chart runs it): the kopf.dev CRDs from crds/ let replicas elect one."""
    cluster.create("kopfpeerings", {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering",
                                    "metadata": {"name": "leadscore"}}, group="kopf.dev", version="v1")
    cluster.create(LSM, model())
    with running_operator(cluster.namespace, peering="leadscore"):
        eventually(lambda: cluster.jobs("m"), what="training job under peering")
        peering = eventually(lambda: (p := cluster.get("kopfpeerings", "leadscore", group="kopf.dev",
                                                       version="v1")) and p.get("status") and p,
                             what="operator registered in the peering object")
    assert peering["status"], "no peer recorded"


def test_cli_runs_the_operator_until_terminated_when_started_as_a_user_would(cluster, tmp_path):
    """`leadscore operator run --namespace NS` in its own process: it reconciles, and SIGTERM
    stops it cleanly."""
    import os
    import signal
    import subprocess
    import sys

    cluster.create(LSM, model())
    log = (tmp_path / "operator.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "leadscore", "operator", "run", "--namespace", cluster.namespace],
        env={**os.environ}, stdout=log, stderr=subprocess.STDOUT)
    try:
        eventually(lambda: cluster.jobs("m"), what="training job from the CLI-run operator", timeout=90)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        log.close()
    assert code == 0, (tmp_path / "operator.log").read_text()[-3000:]
    assert cluster.status(LSM, "m")["lastTrainingJob"] == "m-train-v1"


def test_result_json_in_s3_is_read_and_old_versions_are_deleted_from_the_bucket(cluster, s3_bucket, monkeypatch):
    """With an s3:// artifact root on a real S3 server: no termination message, so the operator
    reads result.json from the bucket; retention then removes the oldest version's objects."""
    from leadscore.api.artifact import artifact_uri
    from leadscore.store import artifacts

    root = f"s3://{s3_bucket}"
    monkeypatch.setenv("LEADSCORE_ARTIFACT_ROOT", root)
    cluster.create(LSM, model(retention={"keepVersions": 1}))
    with running_operator(cluster.namespace):
        for number in (1, 2, 3):
            version = f"v{number}"
            uri = artifact_uri(root, cluster.namespace, "m", version)
            if number > 1:
                retrain(cluster, "m", str(number))
            eventually(lambda v=version: cluster.status(LSM, "m").get("training", {}).get("version") == v,
                       what=f"{version} started")
            artifacts.write_bytes(artifacts.join(uri, "model.onnx"), b"onnx")
            result = TrainingResult(status="Succeeded", version=version, artifact_uri=uri,
                                    metrics={"roc_auc": 0.7 + number / 100})
            artifacts.write_bytes(artifacts.join(uri, "result.json"), result.model_dump_json().encode())
            finish_training(cluster, "m", version, message="")
            recorded = eventually(lambda v=version: version_recorded(cluster, "m", v), what=f"{version} recorded")
            assert recorded["metrics"]["roc_auc"] == 0.7 + number / 100  # read from the bucket
        eventually(lambda: cluster.status(LSM, "m")["versions"][0]["artifactsDeleted"], what="v1 deleted")
    assert not artifacts.exists(artifact_uri(root, cluster.namespace, "m", "v1"))
    assert artifacts.exists(artifact_uri(root, cluster.namespace, "m", "v3"))

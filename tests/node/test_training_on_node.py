"""A training Job, exactly as the operator renders it, run by the real kubelet: the trainer image
reads its data through the MinIO Service's DNS name, trains, writes the artifact to MinIO and the
result to its termination message. Then the version is served the way KServe runs a predictor:
the storage initializer downloads the artifact, the predictor turns Ready through the runtime's
probe and scores leads."""

from __future__ import annotations

import io
import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from support.node_minio import running_minio
from support.polling import eventually

pytestmark = [pytest.mark.node, pytest.mark.slow]

MODEL, VERSION = "pc-leads", "v1"


@dataclass
class Trained:
    namespace: str
    result: Any  # leadscore.api.results.TrainingResult
    output: str
    stored: set[str]


@pytest.fixture(scope="module")
def trained(node_cluster: Any) -> Iterator[Trained]:
    """MinIO in a fresh namespace, the data uploaded, the operator's training Job run to its end."""
    from kubernetes import client

    from leadscore.api.leadscoringmodel import LeadScoringModelSpec
    from leadscore.api.results import TrainingResult
    from leadscore.data import synth
    from leadscore.operator.builders import training_job_manifest
    from leadscore.operator.settings import OperatorSettings

    namespace, node = f"train-{time.monotonic_ns()}", node_cluster.node
    node.load("trainer")
    with node_cluster.plane.api_client() as api:
        core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
        # Pod Security `restricted` for training Jobs is the work of its own issue; baseline here.
        core.create_namespace({"metadata": {"name": namespace, "labels": {
            "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"}}})
        try:
            eventually(lambda: core.list_namespaced_service_account(namespace).items,
                       what="the default ServiceAccount")
            s3, _ = running_minio(api, node, namespace)
            for bucket in ("data", "models"):
                s3.make_bucket(bucket)
            csv = synth.generate("pc", 3000, 7).to_csv(index=False).encode()
            s3.put_object("data", "pc/leads.csv", io.BytesIO(csv), len(csv))

            # LR and LightGBM: these 3,000 leads once failed the ONNX parity check (a LightGBM split
            # threshold rounded up to float32); the Job on the node must publish them within 1e-5.
            spec = LeadScoringModelSpec.model_validate({
                "vertical": "pc",
                "dataset": {"uri": "s3://data/pc/leads.csv", "targetColumn": "converted",
                            "idColumn": "lead_id", "timeColumn": "created_at"},
                "training": {"algorithms": ["lr", "lightgbm"], "trials": 1, "timeBudgetSeconds": 60,
                             "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                                           "limits": {"memory": "3Gi"}}}})
            settings = OperatorSettings(trainer_image="docker.io/leadscore/trainer:dev", mlflow_config_map=None)
            output = f"s3://models/{namespace}/{MODEL}/{VERSION}/"
            job = training_job_manifest(namespace, MODEL, VERSION, output, spec, settings)
            batch.create_namespaced_job(namespace, job)

            def finished() -> Any:
                status = batch.read_namespaced_job_status(job["metadata"]["name"], namespace).status
                return status if (status.succeeded or status.failed) else None

            eventually(finished, what="the training Job to finish", timeout=900, interval=2)
            pods = core.list_namespaced_pod(namespace, label_selector=f"job-name={job['metadata']['name']}").items
            assert len(pods) == 1
            terminated = pods[0].status.container_statuses[0].state.terminated
            assert terminated.exit_code == 0, terminated.message
            prefix = f"{namespace}/{MODEL}/{VERSION}/"
            stored = {o.object_name[len(prefix):] for o in s3.list_objects("models", recursive=True, prefix=prefix)}
            yield Trained(namespace=namespace, result=TrainingResult.model_validate_json(terminated.message),
                          output=output, stored=stored)
        finally:
            core.delete_namespace(namespace, grace_period_seconds=0)


def test_training_job_pod_trains_from_minio_through_its_service_dns_name(trained: Trained) -> None:
    assert trained.result.status == "Succeeded", trained.result.message
    assert trained.result.artifact_uri.rstrip("/") == trained.output.rstrip("/")
    assert {"model.onnx", "feature_spec.json", "model_card.json"} <= trained.stored
    assert 0.5 < trained.result.metrics["roc_auc"] <= 1.0


def predictor_pod(namespace: str, storage_uri: str) -> dict[str, Any]:
    """The pod KServe makes of an InferenceService on the chart's runtime (servingruntime.yaml):
    the storage initializer fills /mnt/models, the predictor serves it under the model's name."""
    restricted = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                  "capabilities": {"drop": ["ALL"]}}
    s3_env = [{"configMapRef": {"name": "leadscore-s3"}}, {"secretRef": {"name": "leadscore-s3"}}]
    return {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "predictor", "namespace": namespace},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "initContainers": [{
                "name": "storage-initializer", "image": "docker.io/leadscore/storage-initializer:dev",
                "imagePullPolicy": "Never", "args": [storage_uri, "/mnt/models"], "envFrom": s3_env,
                "securityContext": restricted,
                "volumeMounts": [{"name": "kserve-provision-location", "mountPath": "/mnt/models"},
                                 {"name": "tmp", "mountPath": "/tmp"}]}],
            "containers": [{
                "name": "kserve-container", "image": "docker.io/leadscore/predictor:dev", "imagePullPolicy": "Never",
                "args": [f"--model_name={MODEL}", "--model_dir=/mnt/models", "--http_port=8080", "--grpc_port=8081",
                         "--host=0.0.0.0"],
                "ports": [{"name": "http1", "containerPort": 8080}],
                "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": 8080}, "periodSeconds": 5},
                "securityContext": restricted,
                "volumeMounts": [{"name": "kserve-provision-location", "mountPath": "/mnt/models", "readOnly": True},
                                 {"name": "tmp", "mountPath": "/tmp"}]}],
            "volumes": [{"name": "kserve-provision-location", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]}}


def test_predictor_pod_downloads_the_version_turns_ready_and_scores(node_cluster: Any, trained: Trained) -> None:
    from kubernetes import client

    from leadscore.data import synth

    node_cluster.node.load("storage-initializer", "predictor")
    with node_cluster.plane.api_client() as api:
        core = client.CoreV1Api(api)
        core.create_namespaced_pod(trained.namespace, predictor_pod(trained.namespace, trained.result.artifact_uri))
        status = eventually(
            lambda: (s := core.read_namespaced_pod("predictor", trained.namespace).status)
            and any(c.type == "Ready" and c.status == "True" for c in s.conditions or ()) and s,
            what="the predictor pod Ready", timeout=600, interval=2)
        port = node_cluster.node.forward(status.pod_ip, 8080)
    leads = synth.drop_ground_truth(synth.generate("pc", 20, 11)).drop(columns=[synth.TARGET])
    body = json.dumps({"instances": json.loads(leads.to_json(orient="records", date_format="iso"))}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models/{MODEL}:predict", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        predictions = json.loads(response.read())["predictions"]
    assert [p["lead_id"] for p in predictions] == list(leads["lead_id"])
    assert {p["model_version"] for p in predictions} == {VERSION}
    assert all(0.0 <= p["probability"] <= 1.0 for p in predictions)

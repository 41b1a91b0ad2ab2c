"""A training Job, exactly as the operator renders it, run by the real kubelet: the trainer image
reads its data through the MinIO Service's DNS name, trains, writes the artifact to MinIO and the
result to its termination message."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest

from support.polling import eventually

pytestmark = [pytest.mark.node, pytest.mark.slow]

MINIO_USER, MINIO_PASSWORD = "leadscore-node", "leadscore-node-secret"
MODEL, VERSION = "pc-leads", "v1"


def minio_objects(namespace: str) -> list[dict[str, Any]]:
    """MinIO as one Deployment and a Service, on the image of hack/build-minio.sh's server."""
    labels = {"app": "minio"}
    container = {
        "name": "minio", "image": "docker.io/leadscore/minio:dev", "imagePullPolicy": "Never",
        "args": ["server", "/data", "--address", ":9000", "--console-address", ":9001",
                 "--certs-dir", "/tmp/certs"],
        "env": [{"name": "MINIO_ROOT_USER", "value": MINIO_USER},
                {"name": "MINIO_ROOT_PASSWORD", "value": MINIO_PASSWORD}],
        "ports": [{"name": "s3", "containerPort": 9000}],
        "readinessProbe": {"httpGet": {"path": "/minio/health/ready", "port": "s3"}, "periodSeconds": 2},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "minio", "namespace": namespace},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"securityContext": {"runAsNonRoot": True, "fsGroup": 1000,
                                                            "seccompProfile": {"type": "RuntimeDefault"}},
                                        "containers": [container],
                                        "volumes": [{"name": "data", "emptyDir": {}},
                                                    {"name": "tmp", "emptyDir": {}}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "minio", "namespace": namespace},
         "spec": {"selector": labels, "ports": [{"name": "s3", "port": 9000, "targetPort": "s3"}]}},
        # What the chart's ConfigMap and Secret give trainer pods (envFrom), with the Service's DNS name.
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "leadscore-s3", "namespace": namespace},
         "data": {"AWS_ENDPOINT_URL": f"http://minio.{namespace}.svc.cluster.local:9000", "S3_USE_HTTPS": "0",
                  "AWS_REGION": "us-east-1"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "leadscore-s3", "namespace": namespace},
         "stringData": {"AWS_ACCESS_KEY_ID": MINIO_USER, "AWS_SECRET_ACCESS_KEY": MINIO_PASSWORD}},
    ]


@pytest.fixture
def training_namespace(node_cluster: Any) -> Any:
    from kubernetes import client

    name = f"train-{time.monotonic_ns()}"
    with node_cluster.plane.api_client() as api:
        core = client.CoreV1Api(api)
        # Pod Security `restricted` for training Jobs is the work of its own issue; baseline here.
        core.create_namespace({"metadata": {"name": name, "labels": {
            "pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"}}})
        eventually(lambda: core.list_namespaced_service_account(name).items, what="the default ServiceAccount")
        yield name
        core.delete_namespace(name, grace_period_seconds=0)


def test_training_job_pod_trains_from_minio_through_its_service_dns_name(
        node_cluster: Any, training_namespace: str) -> None:
    from kubernetes import client, utils
    from minio import Minio

    from leadscore.api.leadscoringmodel import LeadScoringModelSpec
    from leadscore.api.results import TrainingResult
    from leadscore.data import synth
    from leadscore.operator.builders import training_job_manifest
    from leadscore.operator.settings import OperatorSettings
    from support.node import deployment_available

    namespace, node = training_namespace, node_cluster.node
    node.load("minio", "trainer")
    with node_cluster.plane.api_client() as api:
        core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
        for document in minio_objects(namespace):
            utils.create_from_dict(api, document)
        eventually(lambda: deployment_available(api, namespace, "minio"), what="MinIO Available", timeout=300)

        service_ip = core.read_namespaced_service("minio", namespace).spec.cluster_ip
        s3 = Minio(f"127.0.0.1:{node.forward(service_ip, 9000)}", access_key=MINIO_USER,
                   secret_key=MINIO_PASSWORD, secure=False)
        for bucket in ("data", "models"):
            s3.make_bucket(bucket)
        csv = synth.generate("pc", 3000, 7).to_csv(index=False).encode()
        s3.put_object("data", "pc/leads.csv", io.BytesIO(csv), len(csv))

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
        result = TrainingResult.model_validate_json(terminated.message)
        assert result.status == "Succeeded"
        assert result.artifact_uri.rstrip("/") == output.rstrip("/")
        stored = {o.object_name.rsplit("/", 1)[-1] for o in s3.list_objects("models", recursive=True,
                                                                            prefix=f"{namespace}/{MODEL}/{VERSION}/")}
        assert {"model.onnx", "feature_spec.json", "model_card.json"} <= stored
        assert 0.5 < result.metrics["roc_auc"] <= 1.0

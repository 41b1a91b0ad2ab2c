"""MinIO as a pod on the test node (the image of hack/build-minio.sh's server), with the ConfigMap
and Secret the chart gives trainer pods (``envFrom``), pointing at the MinIO Service's DNS name."""

from __future__ import annotations

from typing import Any

from support.node import Node, deployment_available
from support.polling import eventually

MINIO_USER, MINIO_PASSWORD = "leadscore-node", "leadscore-node-secret"


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


def running_minio(api: Any, node: Node, namespace: str) -> tuple[Any, str]:
    """``minio_objects`` created in ``namespace`` (the image loaded into the node), once MinIO is
    Available: a ``Minio`` client that reaches its Service from the host through a loopback port,
    and that ``host:port``."""
    from kubernetes import client, utils
    from minio import Minio

    node.load("minio")
    for document in minio_objects(namespace):
        utils.create_from_dict(api, document)
    eventually(lambda: deployment_available(api, namespace, "minio"), what="MinIO Available", timeout=300)
    service_ip = client.CoreV1Api(api).read_namespaced_service("minio", namespace).spec.cluster_ip
    endpoint = f"127.0.0.1:{node.forward(service_ip, 9000)}"
    return Minio(endpoint, access_key=MINIO_USER, secret_key=MINIO_PASSWORD, secure=False), endpoint

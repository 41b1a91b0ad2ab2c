"""The real KServe controller meets what the operator renders: a model namespace set up the way
the chart sets one up (predictor ServiceAccount bound to the S3 Secret KServe reads), and
helpers to create an InferenceService and wait for what KServe makes of it."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from support.cluster import Cluster

PREDICTOR_SA = "leadscore-predictor"
S3_SECRET = "leadscore-s3"
S3_ENDPOINT = "minio.leadscore.svc:9000"


@pytest.fixture
def model_namespace(kube, kserve, kube_namespace) -> Iterator[Cluster]:
    """A namespace with the chart's predictor ServiceAccount and S3 Secret (annotated for
    KServe's storage initializer), and a Cluster helper bound to it."""
    from kubernetes import client

    with kube.api_client() as api:
        core = client.CoreV1Api(api)
        secret = {"apiVersion": "v1", "kind": "Secret",
                  "metadata": {"name": S3_SECRET, "annotations": {
                      "serving.kserve.io/s3-endpoint": S3_ENDPOINT,
                      "serving.kserve.io/s3-usehttps": "0", "serving.kserve.io/s3-verifyssl": "0"}},
                  "type": "Opaque",
                  "data": {"AWS_ACCESS_KEY_ID": base64.b64encode(b"test-key").decode(),
                           "AWS_SECRET_ACCESS_KEY": base64.b64encode(b"test-secret").decode()}}
        core.create_namespaced_secret(kube_namespace, secret)
        core.create_namespaced_service_account(kube_namespace, {
            "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": PREDICTOR_SA},
            "secrets": [{"name": S3_SECRET}], "automountServiceAccountToken": False})
        yield Cluster(api, kube_namespace)


def env_of(container: Any) -> dict[str, Any]:
    """name -> value (or the V1EnvVarSource) of a container's env."""
    return {e.name: e.value if e.value is not None else e.value_from for e in container.env or ()}

"""The leadscore release on the node, shared by the node tests that `helm install` it: the images
hack/images.sh built, the test PostgreSQL on the host as the chart's external database, and the
clean-up of what `helm uninstall` leaves behind."""

from __future__ import annotations

import base64
import contextlib
import subprocess
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from support.helm import CHART
from support.node import host_service
from support.postgres import PostgresServer

RELEASE = NAMESPACE = "leadscore"
DATABASE_SERVICE = "events-db"
IMAGE_VALUES = (
    "collector.image.repository=docker.io/leadscore/collector", "collector.image.tag=dev",
    "collector.image.pullPolicy=Never",
    "servingRuntime.image.repository=docker.io/leadscore/predictor", "servingRuntime.image.tag=dev",
    "operator.image.repository=docker.io/leadscore/operator", "operator.image.tag=dev",
    "operator.image.pullPolicy=Never", "operator.trainer.image.repository=docker.io/leadscore/trainer",
    "operator.trainer.image.tag=dev",
    "console.image.repository=docker.io/leadscore/console", "console.image.tag=dev",
    "console.image.pullPolicy=Never",
)
"""The chart's images, as hack/images.sh tags them (``node.load`` imports them first)."""


def external_database(api: Any, stack: ExitStack, node: Any, server: PostgresServer, database: str) -> None:
    """The test PostgreSQL as the chart's external database: a Service in the release namespace
    that leads pods to it (until ``stack`` closes), and the Secret externalDatabase.existingSecret names."""
    from kubernetes import client

    node.reach(stack, server.port)
    host_service(api, NAMESPACE, DATABASE_SERVICE, server.port)
    url = (f"postgresql+psycopg://{server.user}:{server.password}@{DATABASE_SERVICE}.{NAMESPACE}.svc.cluster.local:"
           f"{server.port}/{database}")
    client.CoreV1Api(api).create_namespaced_secret(NAMESPACE, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": DATABASE_SERVICE},
        "data": {"url": base64.b64encode(url.encode()).decode()}})


def helm_install(helm_bin: Path, kubeconfig: Path, values: Sequence[str],
                 timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """``helm install`` of the chart as RELEASE in NAMESPACE with ``values`` (``--set``); the
    pre-install hook Job migrates the database first and helm waits for it."""
    args = [str(helm_bin), "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--create-namespace",
            "--kubeconfig", str(kubeconfig), "--timeout", f"{timeout}s"]
    for value in values:
        args += ["--set", value]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout + 60)


def uninstall(api: Any, helm_bin: Path, kubeconfig: Path) -> None:
    """``helm uninstall``, then what it leaves: hook objects (the test pods; the test account and
    RBAC, or the migration Job, when they failed) and external_database's Service, EndpointSlice
    and Secret."""
    from kubernetes import client

    subprocess.run([str(helm_bin), "uninstall", RELEASE, "--namespace", NAMESPACE, "--kubeconfig",
                    str(kubeconfig), "--wait", "--timeout", "120s"], capture_output=True, timeout=180)
    core = client.CoreV1Api(api)
    selector = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=test"
    migration = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/component=collector-migrate"
    rbac = client.RbacAuthorizationV1Api(api)
    for delete in (lambda: core.delete_collection_namespaced_pod(NAMESPACE, label_selector=selector),
                   lambda: core.delete_collection_namespaced_service_account(NAMESPACE, label_selector=selector),
                   lambda: rbac.delete_collection_namespaced_role(NAMESPACE, label_selector=selector),
                   lambda: rbac.delete_collection_namespaced_role_binding(NAMESPACE, label_selector=selector),
                   lambda: rbac.delete_collection_cluster_role(label_selector=selector),
                   lambda: rbac.delete_collection_cluster_role_binding(label_selector=selector),
                   lambda: client.BatchV1Api(api).delete_collection_namespaced_job(
                       NAMESPACE, label_selector=migration, propagation_policy="Background"),
                   lambda: core.delete_namespaced_service(DATABASE_SERVICE, NAMESPACE),
                   lambda: client.DiscoveryV1Api(api).delete_namespaced_endpoint_slice(DATABASE_SERVICE, NAMESPACE),
                   lambda: core.delete_namespaced_secret(DATABASE_SERVICE, NAMESPACE)):
        with contextlib.suppress(client.exceptions.ApiException):
            delete()

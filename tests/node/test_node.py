"""The node itself: pods of the project's images run on a real kubelet, and cluster DNS resolves
Service names through CoreDNS and kube-proxy."""

from __future__ import annotations

import time
from typing import Any

import pytest

from support.polling import eventually

pytestmark = [pytest.mark.node, pytest.mark.slow]

RESTRICTED_POD = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def run_pod(api: Any, namespace: str, name: str, image: str, command: list[str], timeout: float = 300) -> Any:
    """Run a one-shot pod under Pod Security `restricted` settings; its final status (bounded wait)."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    core.create_namespaced_pod(namespace, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "securityContext": RESTRICTED_POD,
                 "containers": [{"name": "main", "image": image, "imagePullPolicy": "Never",
                                 "command": command, "securityContext": RESTRICTED_CONTAINER}]}})
    return eventually(lambda: (pod := core.read_namespaced_pod(name, namespace)).status.phase
                      in ("Succeeded", "Failed") and pod, what=f"pod {name} to finish", timeout=timeout, interval=1)


def termination_message(pod: Any) -> str:
    state = pod.status.container_statuses[0].state
    return state.terminated.message if state.terminated else ""


@pytest.fixture
def namespace(node_cluster: Any) -> Any:
    from kubernetes import client

    name = f"node-test-{time.monotonic_ns()}"
    with node_cluster.plane.api_client() as api:
        core = client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": name,
                                            "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
        # The default ServiceAccount comes from the serviceaccount controller: wait for it.
        eventually(lambda: core.list_namespaced_service_account(name).items, what="the default ServiceAccount")
        yield name
        core.delete_namespace(name, grace_period_seconds=0)


def test_cluster_dns_resolves_the_kubernetes_service(node_cluster: Any, namespace: str) -> None:
    node_cluster.node.load("operator")
    script = ("import socket; open('/dev/termination-log', 'w').write("
              "socket.gethostbyname('kubernetes.default.svc.cluster.local'))")
    with node_cluster.plane.api_client() as api:
        pod = run_pod(api, namespace, "dns", "docker.io/leadscore/operator:dev", ["python", "-c", script])
    assert pod.status.phase == "Succeeded", pod.status
    assert termination_message(pod) == "10.0.0.1"


# What each image's entry point needs: importing it proves the packages (and native libraries
# such as libgomp) are in the image; the uid proves it runs as non-root.
IMAGE_IMPORTS = {
    "operator": "kopf, kubernetes, leadscore.operator.handlers",
    "trainer": "xgboost, lightgbm, catboost, optuna, mlflow, onnxruntime, skl2onnx, leadscore.trainer",
    "predictor": "kserve, onnxruntime, lightgbm, xgboost, catboost, leadscore.predictor",
    "collector": "uvicorn, psycopg, alembic, leadscore.collector.app",
    "storage-initializer": "kserve_storage",
}


@pytest.mark.parametrize("image", sorted(IMAGE_IMPORTS))
def test_a_pod_of_each_image_runs_as_non_root(node_cluster: Any, namespace: str, image: str) -> None:
    node_cluster.node.load(image)
    script = (f"import os, {IMAGE_IMPORTS[image]}; "
              "open('/dev/termination-log', 'w').write(str(os.getuid()))")
    with node_cluster.plane.api_client() as api:
        pod = run_pod(api, namespace, image, f"docker.io/leadscore/{image}:dev", ["python", "-c", script])
    assert pod.status.phase == "Succeeded", pod.status
    assert termination_message(pod) not in ("", "0")


def test_collector_pod_turns_ready_through_its_probe_and_serves_the_host(node_cluster: Any, namespace: str) -> None:
    """The chart's collector container (command, probe, read-only root, /tmp emptyDir) on SQLite."""
    import urllib.request

    from kubernetes import client

    node_cluster.node.load("collector")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "collector"},
           "spec": {"securityContext": RESTRICTED_POD,
                    "containers": [{
                        "name": "collector", "image": "docker.io/leadscore/collector:dev",
                        "imagePullPolicy": "Never",
                        "args": ["--host=0.0.0.0", "--port=8090", "--db=sqlite:////tmp/events.db"],
                        "ports": [{"name": "http", "containerPort": 8090}],
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 2},
                        "securityContext": {**RESTRICTED_CONTAINER, "readOnlyRootFilesystem": True},
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}]}],
                    "volumes": [{"name": "tmp", "emptyDir": {}}]}}
    with node_cluster.plane.api_client() as api:
        core = client.CoreV1Api(api)
        core.create_namespaced_pod(namespace, pod)
        status = eventually(lambda: (s := core.read_namespaced_pod("collector", namespace).status)
                            and any(c.type == "Ready" and c.status == "True" for c in s.conditions or ()) and s,
                            what="the collector pod Ready", timeout=180, interval=1)
        port = node_cluster.node.forward(status.pod_ip, 8090)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            assert response.status == 200
            assert b'"ok"' in response.read()

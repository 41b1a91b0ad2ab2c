"""The real KubeRay operator (``ray-operator``, hack/build-kuberay.sh) on a test control plane.

``running_kuberay`` does what KubeRay's Helm chart does, minus the Pod: KubeRay's CRDs (RayCluster,
RayJob, RayService; Established before the operator starts, since it watches all three) and the
operator out of cluster with the admin kubeconfig, leader election off, its health and metrics
endpoints on loopback ports. KubeRay's webhooks are off by default (``ENABLE_WEBHOOKS`` unset),
as in its chart. Teardown stops the operator by PID; the CRDs stay (other tests may hold objects
of those kinds).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.cluster import Cluster, install_crds
from support.processes import ServerProcess, free_port, http_ok, start_process, wait_until

RAY = {"group": "ray.io", "version": "v1"}
"""KubeRay's API group and version, as ``Cluster`` methods take them."""
KUBERAY_IMAGE = "docker.io/leadscore/kuberay:dev"
"""hack/images.sh's image of the pinned ``ray-operator`` (the node tests run it as a pod)."""


def kuberay_pod_objects(namespace: str) -> list[dict[str, Any]]:
    """KubeRay's operator as its chart runs it, in ``namespace``: a Deployment under a ServiceAccount
    (bound to ``cluster-admin`` here, where KubeRay's chart has its own ClusterRole). In the cluster,
    because KubeRay reads a RayJob's progress from the head's dashboard through its Service's DNS
    name, which only pods resolve and reach."""
    labels = {"app": "kuberay-operator"}
    container = {
        "name": "kuberay-operator", "image": KUBERAY_IMAGE, "imagePullPolicy": "Never",
        "args": ["-enable-leader-election=false", "-health-probe-bind-address=:8082", "-metrics-addr=:8080"],
        "ports": [{"name": "health", "containerPort": 8082}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "health"}, "periodSeconds": 2},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": True},
    }
    meta = {"name": "kuberay-operator", "namespace": namespace}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": f"kuberay-operator-{namespace}"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
         "subjects": [{"kind": "ServiceAccount", "name": "kuberay-operator", "namespace": namespace}]},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"serviceAccountName": "kuberay-operator",
                                        "securityContext": {"runAsNonRoot": True,
                                                            "seccompProfile": {"type": "RuntimeDefault"}},
                                        "containers": [container]}}}},
    ]


def ray_jobs(cluster: Cluster) -> list[dict[str, Any]]:
    listed = cluster.custom.list_namespaced_custom_object("ray.io", "v1", cluster.namespace, "rayjobs")
    return list(listed["items"])


def reconcile_pass(cluster: Cluster, body: dict[str, Any], settings: Any) -> Any:
    """One leadscore reconcile pass on a LeadScoringModel ``body``, as the handler runs it (the real
    ``Kube`` adapter, no kopf); the status patch is written back to ``body`` (not to the apiserver:
    only the RayJob and its children matter). Returns the pass's context (its events)."""
    from leadscore.operator.kube import Kube
    from leadscore.operator.model_reconciler import context_from, reconcile_model

    ctx = context_from(Kube(cluster.api), settings, body)
    patch = reconcile_model(ctx)
    body["status"] = {k: v for k, v in {**(body.get("status") or {}), **patch}.items() if v is not None}
    return ctx


@dataclass(frozen=True)
class KubeRayInstall:
    """The pinned build (hack/build-kuberay.sh): ``ray-operator`` and ``crd/ray.io_*.yaml``."""

    directory: Path

    @property
    def operator(self) -> Path:
        return self.directory / "ray-operator"

    @property
    def crd_files(self) -> list[Path]:
        return sorted((self.directory / "crd").glob("ray.io_*.yaml"))

    @property
    def missing(self) -> list[str]:
        wanted = [self.operator, *(self.directory / "crd" / f"ray.io_{kind}.yaml"
                                   for kind in ("rayclusters", "rayjobs", "rayservices"))]
        return [str(p) for p in wanted if not p.is_file()]


@contextmanager
def running_kuberay(kubeconfig: Path, install: KubeRayInstall, workdir: Path, *,
                    timeout: float = 120.0) -> Iterator[ServerProcess]:
    """Install KubeRay's CRDs on the apiserver of ``kubeconfig`` and run its operator until the
    block ends (log ``<workdir>/ray-operator.log``, removed with the workdir)."""
    from kubernetes import config

    with ExitStack() as stack:
        workdir.mkdir(parents=True, exist_ok=True)
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        with config.new_client_from_config(config_file=str(kubeconfig)) as api:
            install_crds(api, install.crd_files)
        probe, metrics = free_port(), free_port()
        args = [install.operator, "-kubeconfig", str(kubeconfig), "-enable-leader-election=false",
                "-health-probe-bind-address", f"127.0.0.1:{probe}", "-metrics-addr", f"127.0.0.1:{metrics}",
                "-log-stdout-encoder", "console"]
        process = start_process("ray-operator", args, workdir / "ray-operator.log",
                                env={**os.environ, "KUBECONFIG": str(kubeconfig)})
        stack.callback(process.stop)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{probe}/readyz"), what="KubeRay operator /readyz",
                   timeout=timeout, process=process)
        yield process

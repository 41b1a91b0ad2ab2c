"""A RayJob of ``spec.training.engine: ray`` run on the real node: the leadscore operator's reconcile
pass creates it, the real KubeRay operator (v1.5.0, hack/build-kuberay.sh, as a pod on the node)
makes its Ray head and worker pods and its submitter Job, the kubelet runs them on the trainer-ray image in a namespace
that enforces Pod Security ``restricted``, the driver (``leadscore train --engine ray`` on the head)
reads the shards from a MinIO pod through its Service's DNS name and trains XGBoost data-parallel
on both Ray nodes, KubeRay reports ``SUCCEEDED``, and the operator's next pass makes the version
from result.json.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from support.cluster import LEADSCORING_CRDS, Cluster, install_crds
from support.kserve import KServeInstall
from support.kuberay import RAY, KubeRayInstall, kuberay_pod_objects, ray_jobs, reconcile_pass
from support.node import apply_documents, deployment_available
from support.node_minio import MINIO_PASSWORD, MINIO_USER, running_minio
from support.polling import eventually
from support.skipping import require_or_skip
from support.tools import built_tool

pytestmark = [pytest.mark.node, pytest.mark.kuberay, pytest.mark.ray, pytest.mark.slow]

MODEL = "pc-ray"
IMAGE = "docker.io/leadscore/trainer-ray:dev"
# The head runs the driver and one Ray CPU; the worker one more: the booster trains on 2 Ray tasks.
HEAD = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "3Gi"}}
WORKER = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1536Mi"}}


@pytest.fixture(scope="module")
def kuberay_on_node(node_cluster: Any) -> Iterator[None]:
    """KubeRay's CRDs and ours on the node's control plane, and the KubeRay operator as a pod on the
    node (it polls each RayJob's head through its Service's DNS name: from the host it cannot)."""
    from kubernetes import client

    install = KubeRayInstall(built_tool("LEADSCORE_KUBERAY_DIR", "build-kuberay.sh"))
    if install.missing:
        require_or_skip(f"KubeRay build incomplete, missing {install.missing}: run `make tools`")
    kserve = KServeInstall(built_tool("LEADSCORE_KSERVE_DIR", "build-kserve.sh"))
    node_cluster.node.load("kuberay")
    namespace = "kuberay-system"
    with node_cluster.plane.api_client() as api:
        # KServe's CRDs too: a pass that records a version goes on to write its InferenceService
        install_crds(api, [*LEADSCORING_CRDS, *install.crd_files, *kserve.crd_files])
        core = client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": namespace}})
        try:
            eventually(lambda: core.list_namespaced_service_account(namespace).items,
                       what="the default ServiceAccount")
            apply_documents(api, kuberay_pod_objects(namespace))
            eventually(lambda: deployment_available(api, namespace, "kuberay-operator"),
                       what="the KubeRay operator Available", timeout=180)
            yield
        finally:
            client.RbacAuthorizationV1Api(api).delete_cluster_role_binding(f"kuberay-operator-{namespace}")
            core.delete_namespace(namespace, grace_period_seconds=0)


def _upload_shards(s3: Any) -> None:
    """2,000 synthetic leads as two CSV shards, in time order."""
    from leadscore.data import synth

    frame = synth.generate("pc", 2000, 7).sort_values("created_at").reset_index(drop=True)
    for bucket in ("data", "models"):
        s3.make_bucket(bucket)
    for index, rows in enumerate(np.array_split(np.arange(len(frame)), 2)):
        body = frame.iloc[rows].to_csv(index=False).encode()
        s3.put_object("data", f"pc/shards/part-{index}.csv", io.BytesIO(body), len(body))


def _peak_mib(node: Any, pod_uid: str) -> int | None:
    """The pod's peak memory (its cgroup v1 ``memory.max_usage_in_bytes``, page cache included)."""
    root = Path("/sys/fs/cgroup/memory") / f"leadscore-node-{node.pid}"
    found = next(iter(root.glob(f"kubepods*/**/pod{pod_uid}/memory.max_usage_in_bytes")), None)
    return int(found.read_text()) // 2**20 if found else None


def _model() -> dict[str, Any]:
    return {
        "apiVersion": "leadscoring.io/v1alpha1", "kind": "LeadScoringModel", "metadata": {"name": MODEL},
        "spec": {"vertical": "pc",
                 "dataset": {"uri": "s3://data/pc/shards/", "targetColumn": "converted", "idColumn": "lead_id",
                             "timeColumn": "created_at"},
                 "training": {"engine": "ray", "algorithms": ["lr", "xgboost"], "trials": 1,
                              "timeBudgetSeconds": 60, "cvFolds": 0, "ensemble": False,
                              "activeDeadlineSeconds": 900,
                              "ray": {"workers": 1, "head": {"resources": HEAD},
                                      "worker": {"resources": WORKER}}}}}


def test_a_rayjob_runs_its_pods_on_the_node_and_becomes_a_version(
        node_cluster: Any, kuberay_on_node: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes import client

    from leadscore.operator.settings import OperatorSettings

    node = node_cluster.node
    node.load("trainer-ray")
    namespace = f"ray-{time.monotonic_ns()}"
    started = time.monotonic()
    with node_cluster.plane.api_client() as api:
        core = client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": namespace, "labels": {
            "pod-security.kubernetes.io/enforce": "restricted"}}})
        cluster = Cluster(api, namespace)
        try:
            eventually(lambda: core.list_namespaced_service_account(namespace).items,
                       what="the default ServiceAccount")
            s3, endpoint = running_minio(api, node, namespace)
            _upload_shards(s3)
            # The operator process reads result.json from the host, through the forwarded port.
            for name, value in {"AWS_ENDPOINT_URL": f"http://{endpoint}", "AWS_ACCESS_KEY_ID": MINIO_USER,
                                "AWS_SECRET_ACCESS_KEY": MINIO_PASSWORD, "AWS_REGION": "us-east-1"}.items():
                monkeypatch.setenv(name, value)
            settings = OperatorSettings(artifact_root="s3://models", trainer_ray_image=IMAGE, mlflow_config_map=None)

            body = cluster.create("leadscoringmodels", _model())
            ctx = reconcile_pass(cluster, body, settings)
            assert [e.message for e in ctx.events] == [f"RayJob {MODEL}-train-v1 trains v1 (created)"]

            ran: dict[str, tuple[str, str]] = {}  # pod: (its role, its node)
            peaks: dict[str, int] = {}  # role: the highest peak memory (MiB) of its pods
            logs = ""

            def finished() -> bool:
                nonlocal logs
                for pod in core.list_namespaced_pod(namespace, label_selector="app!=minio").items:
                    role = (pod.metadata.labels or {}).get("ray.io/node-type") or "submitter"
                    ran[pod.metadata.name] = (role, pod.spec.node_name)
                    peaks[role] = max(peaks.get(role, 0), _peak_mib(node, pod.metadata.uid) or 0)
                logs = "\n".join(node.pod_log(namespace, name) for name in ran)
                reconcile_pass(cluster, body, settings)
                return bool(body["status"]["training"]["finished"])

            def state() -> str:
                ray_job = cluster.get("rayjobs", f"{MODEL}-train-v1", **RAY) or {}
                return f"{ray_job.get('status')}\n{body['status'].get('conditions')}\n{ran}\n{logs[-8000:]}"

            try:
                eventually(finished, what="the RayJob to finish and the operator to record it", timeout=600,
                           interval=5)
            except Exception as exc:
                raise AssertionError(state()) from exc
            elapsed = time.monotonic() - started
            status = (cluster.get("rayjobs", f"{MODEL}-train-v1", **RAY) or {}).get("status", {})
            assert (status.get("jobDeploymentStatus"), status.get("jobStatus")) == ("Complete", "SUCCEEDED"), state()

            # the version, from result.json, through the gate
            (version,) = body["status"]["versions"]
            assert version["version"] == "v1" and version["jobName"] == f"{MODEL}-train-v1"
            assert version["artifactUri"] == f"s3://models/{namespace}/{MODEL}/v1/"
            assert 0.5 < version["metrics"]["roc_auc"] <= 1.0
            assert version["metrics"]["parity_max_abs_diff"] <= 1e-5
            stored = {o.object_name.rsplit("/", 1)[-1]
                      for o in s3.list_objects("models", prefix=f"{namespace}/{MODEL}/v1/", recursive=True)}
            assert {"result.json", "model.onnx", "feature_spec.json", "model_card.json"} <= stored

            # every Ray pod ran on the node: a head, a worker and KubeRay's submitter
            assert {role for role, _ in ran.values()} == {"head", "submitter", "worker"}, ran
            assert {where for _, where in ran.values()} == {node.name}, ran
            print(f"RayJob on the node: {elapsed:.0f} s from the namespace to the recorded version; "
                  f"peak memory per pod (MiB, page cache included): {peaks}")
        finally:
            for job in ray_jobs(cluster):  # while KubeRay runs: it removes its finalizer
                cluster.delete("rayjobs", job["metadata"]["name"], **RAY)
            eventually(lambda: not ray_jobs(cluster), what="KubeRay to let its RayJobs go", timeout=120)
            core.delete_namespace(namespace, grace_period_seconds=0)

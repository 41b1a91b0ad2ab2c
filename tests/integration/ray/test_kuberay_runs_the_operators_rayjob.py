"""The leadscore operator's reconcile pass (the real ``Kube`` adapter, no kopf) creates its RayJob
on the real kube-apiserver and the real KubeRay operator (v1.5.0, hack/build-kuberay.sh) takes it
over: KubeRay makes the Ray cluster and its head and worker pods from the templates the builder
wrote, and reports the RayJob's progress in its status, which the next pass reads.

This control plane has no scheduler and no kubelet: the Ray pods are created but never run, so
the RayJob stays ``Initializing`` here and no Ray job is submitted. How a finished (``Complete`` /
``SUCCEEDED``) or failed (``Failed``) RayJob becomes a version or a failure is unit-tested on
KubeRay's status shapes (tests/unit/operator/test_ray_job.py); the one terminal state the real
KubeRay reaches without pods, ``ValidationFailed``, is shown here end to end.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadscore.api.wire import COMPONENT_LABEL, MODEL_LABEL, VERSION_LABEL
from leadscore.operator.settings import OperatorSettings
from support.cluster import LEADSCORING_CRDS, Cluster, install_crds
from support.kuberay import RAY, KubeRayInstall, ray_jobs, reconcile_pass, running_kuberay
from support.polling import eventually
from support.skipping import require_or_skip
from support.tools import built_tool

pytestmark = [pytest.mark.integration, pytest.mark.kuberay]

TRAINING = {"engine": "ray", "ray": {"workers": 2, "worker": {"resources": {"limits": {"cpu": 2}}}}}


@pytest.fixture(scope="module")
def kuberay(kube) -> Iterator[Any]:
    """KubeRay's CRDs, ours, and the KubeRay operator running against ``kube`` for this module."""
    install = KubeRayInstall(built_tool("LEADSCORE_KUBERAY_DIR", "build-kuberay.sh"))
    if install.missing:
        require_or_skip(f"KubeRay build incomplete, missing {install.missing}: run `make tools` "
                        "(hack/build-kuberay.sh) or set LEADSCORE_KUBERAY_DIR")
    with kube.api_client() as api:
        install_crds(api, LEADSCORING_CRDS)
    with running_kuberay(kube.kubeconfig, install, Path(tempfile.mkdtemp(prefix="leadscore-kuberay-"))) as process:
        yield process


@pytest.fixture
def cluster(kube, kuberay, kube_namespace) -> Iterator[Cluster]:
    """The test namespace; its RayJobs are deleted while KubeRay still runs, so KubeRay removes the
    finalizer it puts on them and the namespace's deletion is not left waiting on it."""
    with kube.api_client() as api:
        cluster = Cluster(api, kube_namespace)
        yield cluster
        for job in ray_jobs(cluster):
            cluster.delete("rayjobs", job["metadata"]["name"], **RAY)
        eventually(lambda: not ray_jobs(cluster), what="KubeRay to let its RayJobs go", timeout=60)


def _model(cluster: Cluster, name: str) -> dict[str, Any]:
    return cluster.create("leadscoringmodels", {
        "apiVersion": "leadscoring.io/v1alpha1", "kind": "LeadScoringModel", "metadata": {"name": name},
        "spec": {"vertical": "pc", "dataset": {"uri": "s3://leads/pc/shards/"}, "training": TRAINING}})


def _trained(body: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in body["status"]["conditions"] if c["type"] == "Trained")


def _pods(cluster: Cluster, selector: str) -> list[Any]:
    return list(cluster.core.list_namespaced_pod(cluster.namespace, label_selector=selector).items)


def test_kuberay_takes_over_the_operators_rayjob_and_a_restart_adopts_it(cluster: Cluster, tmp_path) -> None:
    settings = OperatorSettings(artifact_root=str(tmp_path))
    body = _model(cluster, "big")
    ctx = reconcile_pass(cluster, body, settings)
    assert [e.message for e in ctx.events] == ["RayJob big-train-v1 trains v1 (created)"]
    (job,) = ray_jobs(cluster)
    assert job["metadata"]["ownerReferences"][0]["uid"] == body["metadata"]["uid"]

    # KubeRay reconciles it: its status names the Ray cluster it made for it
    status = eventually(lambda: (cluster.get("rayjobs", "big-train-v1", **RAY) or {}).get("status", {})
                        .get("rayClusterName"), what="KubeRay to make the RayJob's Ray cluster", timeout=90)
    ray_cluster = cluster.get("rayclusters", status, **RAY)
    assert ray_cluster is not None
    assert ray_cluster["metadata"]["ownerReferences"][0]["uid"] == job["metadata"]["uid"]
    assert ray_cluster["metadata"]["labels"][MODEL_LABEL] == "big"

    # ... and its head and worker pods, from the builder's templates (labels, image, resources)
    ours = f"{MODEL_LABEL}=big,{VERSION_LABEL}=v1,{COMPONENT_LABEL}=trainer"
    pods = eventually(lambda: [p for p in _pods(cluster, ours) if p.metadata.labels.get("ray.io/node-type")]
                      if len(_pods(cluster, ours)) >= 3 else None, what="KubeRay's head and 2 worker pods",
                      timeout=90)
    kinds = sorted(p.metadata.labels["ray.io/node-type"] for p in pods)
    assert kinds == ["head", "worker", "worker"]
    for pod in pods:
        (container,) = pod.spec.containers
        assert container.image == settings.trainer_ray_image
        assert pod.spec.security_context.run_as_non_root is True
    worker = next(p for p in pods if p.metadata.labels["ray.io/node-type"] == "worker")
    assert worker.spec.containers[0].resources.limits == {"cpu": "2"}
    assert eventually(lambda: (cluster.get("rayjobs", "big-train-v1", **RAY) or {}).get("status", {})
                      .get("jobDeploymentStatus"), what="the RayJob's deployment status") == "Initializing"

    # the next pass reads that status: still training, nothing recorded, no second RayJob
    reconcile_pass(cluster, body, settings)
    assert (_trained(body)["status"], _trained(body)["reason"]) == ("Unknown", "JobStarted")
    assert body["status"]["training"]["finished"] is False and "versions" not in body["status"]

    # an operator that lost its status write adopts the running RayJob instead of making another
    body["status"].pop("training")
    reconcile_pass(cluster, body, settings)
    assert body["status"]["training"] | {"started": None} == body["status"]["training"] | {
        "version": "v1", "jobName": "big-train-v1", "engine": "ray", "trigger": "created", "started": None}
    assert _trained(body)["message"] == "RayJob big-train-v1 is running (adopted)"
    assert [j["metadata"]["name"] for j in ray_jobs(cluster)] == ["big-train-v1"]


def test_a_rayjob_kuberay_refuses_fails_the_training_with_kuberays_reason(cluster: Cluster, tmp_path) -> None:
    """KubeRay caps RayJob names at 47 characters (its RayCluster gets a suffix). Our CRD keeps
    model names with engine ray to 36, which fits ``<model>-train-v999``; the 1000th version of
    such a model is 48: KubeRay marks it ``ValidationFailed``, and the operator's next pass
    reports that as the training's failure."""
    settings = OperatorSettings(artifact_root=str(tmp_path))
    name = "pc-renewals-north-east-region-batch1"
    assert len(name) == 36
    body = _model(cluster, name)
    body["status"] = {"training": {"version": "v999", "jobName": f"{name}-train-v999", "engine": "ray",
                                   "trigger": "created", "specHash": "", "finished": True}}
    reconcile_pass(cluster, body, settings)
    job = f"{name}-train-v1000"
    eventually(lambda: (cluster.get("rayjobs", job, **RAY) or {}).get("status", {})
               .get("jobDeploymentStatus") == "ValidationFailed", what="KubeRay to refuse the RayJob", timeout=90)
    ctx = reconcile_pass(cluster, body, settings)
    trained = _trained(body)
    assert (trained["status"], trained["reason"]) == ("False", "JobFailed")
    assert trained["message"].startswith(f"RayJob {job} (v1000) failed: ValidationFailed: ")
    assert "RayJob name should be no more than 47 characters" in trained["message"]
    assert [(e.type, e.reason) for e in ctx.events] == [("Warning", "JobFailed")]
    assert body["status"]["training"]["finished"] is True and ray_jobs(cluster)[0]["metadata"]["name"] == job

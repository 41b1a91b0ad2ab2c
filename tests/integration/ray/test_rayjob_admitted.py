"""The operator's RayJob meets KubeRay's own CRD (v1.5.0, hack/build-kuberay.sh) on the real
kube-apiserver: admitted as built, owned by its LeadScoringModel; and our CRD takes
``spec.training.engine: ray`` with its sizing and refuses Ray settings on the Job engine."""

from __future__ import annotations

import copy
import subprocess
from collections.abc import Iterator
from pathlib import Path

import kopf
import pytest
from kubernetes.client.exceptions import ApiException

from leadscore.api.leadscoringmodel import LeadScoringModelSpec
from leadscore.operator.builders import ray_job_manifest
from leadscore.operator.settings import OperatorSettings
from support.cluster import LEADSCORING_CRDS, Cluster, install_crds
from support.skipping import require_or_skip
from support.tools import REPO, built_tool

pytestmark = [pytest.mark.integration, pytest.mark.ray]

MODEL = {"apiVersion": "leadscoring.io/v1alpha1", "kind": "LeadScoringModel", "metadata": {"name": "big"},
         "spec": {"vertical": "pc", "dataset": {"uri": "s3://leads/pc/shards/"},
                  "training": {"engine": "ray", "ray": {"workers": 3, "gpuPerWorker": 1,
                                                        "worker": {"resources": {"limits": {"cpu": 8}}}}}}}


@pytest.fixture(scope="module")
def kuberay_crds() -> list[Path]:
    """KubeRay's CRDs (``LEADSCORE_KUBERAY_DIR``, else hack/build-kuberay.sh's cache; built when missing:
    the script builds the operator too, minutes on a cold machine, at once when cached)."""
    directory = built_tool("LEADSCORE_KUBERAY_DIR", "build-kuberay.sh")
    if not (directory / "crd" / "ray.io_rayjobs.yaml").is_file():
        done = subprocess.run([str(REPO / "hack" / "build-kuberay.sh")], capture_output=True, text=True,
                              timeout=600, check=False)
        if done.returncode != 0:
            require_or_skip(f"KubeRay CRDs not found in {directory} and not fetched: {done.stderr[-500:]}")
    return sorted((directory / "crd").glob("ray.io_*.yaml"))


@pytest.fixture(scope="module")
def crds(kube, kuberay_crds: list[Path]) -> list[str]:
    """Ours and KubeRay's, installed once for the module (KubeRay's are 3 MB of schema) and Established."""
    with kube.api_client() as api:
        return install_crds(api, [*LEADSCORING_CRDS, *kuberay_crds])


@pytest.fixture
def cluster(kube, kube_namespace, crds) -> Iterator[Cluster]:
    with kube.api_client() as api:
        yield Cluster(api, kube_namespace)


def test_the_operators_rayjob_is_admitted_by_kuberays_crd_and_owned_by_its_model(cluster: Cluster) -> None:
    model = cluster.create("leadscoringmodels", copy.deepcopy(MODEL))
    assert model["spec"]["training"]["ray"]["workers"] == 3
    spec = LeadScoringModelSpec.model_validate(model["spec"])
    job = ray_job_manifest(cluster.namespace, "big", "v1", "s3://models/ns/big/v1/", spec, OperatorSettings())
    kopf.adopt(job, owner=model)
    created = cluster.create("rayjobs", job, group="ray.io", version="v1")
    stored = cluster.get("rayjobs", created["metadata"]["name"], group="ray.io", version="v1")
    assert stored is not None
    assert stored["metadata"]["ownerReferences"][0]["uid"] == model["metadata"]["uid"]
    assert stored["metadata"]["labels"]["leadscoring.io/model"] == "big"
    workers = stored["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]
    assert workers["replicas"] == 3  # not pruned: the field is KubeRay's
    assert workers["template"]["spec"]["containers"][0]["resources"]["limits"] == {"cpu": "8", "nvidia.com/gpu": "1"}
    assert stored["spec"]["entrypoint"].endswith("--engine ray")


def test_kuberays_crd_refuses_what_it_does_not_know(cluster: Cluster) -> None:
    """The admission above means something: a worker group without its name is refused."""
    spec = LeadScoringModelSpec.model_validate(MODEL["spec"])
    job = ray_job_manifest(cluster.namespace, "big", "v2", "s3://models/ns/big/v2/", spec, OperatorSettings())
    del job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["groupName"]
    with pytest.raises(ApiException) as refused:
        cluster.create("rayjobs", job, group="ray.io", version="v1")
    assert refused.value.status == 422 and "groupName" in refused.value.body


def test_our_crd_refuses_a_model_name_too_long_for_kuberays_rayjob_names(cluster: Cluster) -> None:
    """``<name>-train-v999`` must fit KubeRay's 47 characters: 36 is taken, 37 refused with engine ray
    (and taken with engine job)."""
    def body(name: str, engine: str) -> dict:
        model = copy.deepcopy(MODEL)
        model["metadata"]["name"] = name
        model["spec"]["training"] = {"engine": engine}
        return model

    assert cluster.create("leadscoringmodels", body("a" * 36, "ray"))["metadata"]["name"] == "a" * 36
    assert cluster.create("leadscoringmodels", body("b" * 37, "job"))["metadata"]["name"] == "b" * 37
    with pytest.raises(ApiException) as refused:
        cluster.create("leadscoringmodels", body("c" * 37, "ray"))
    assert refused.value.status == 422
    assert "metadata.name must be at most 36 characters with spec.training.engine ray" in refused.value.body


def test_our_crd_refuses_ray_settings_on_the_job_engine(cluster: Cluster) -> None:
    body = copy.deepcopy(MODEL)
    body["spec"]["training"]["engine"] = "job"
    with pytest.raises(ApiException) as refused:
        cluster.create("leadscoringmodels", body)
    assert refused.value.status == 422 and "spec.training.ray is only read with engine ray" in refused.value.body

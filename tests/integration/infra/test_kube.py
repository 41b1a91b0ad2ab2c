"""The kube fixture is a real control plane: apiserver with RBAC, job and garbage-collector controllers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from support.controlplane import ControlPlane
from support.kubelet import finish_pod, job_pods
from support.polling import eventually
from support.tools import built_tool

pytestmark = pytest.mark.integration

@pytest.fixture
def api(kube: ControlPlane) -> Iterator[client.ApiClient]:
    with kube.api_client() as api_client:
        yield api_client


def _job(name: str) -> client.V1Job:
    container = client.V1Container(name="main", image="busybox:1.36", command=["true"])
    template = client.V1PodTemplateSpec(spec=client.V1PodSpec(containers=[container], restart_policy="Never"))
    return client.V1Job(metadata=client.V1ObjectMeta(name=name),
                        spec=client.V1JobSpec(template=template, backoff_limit=0))


def _gone(read: Callable[[], object]) -> bool:
    try:
        read()
    except ApiException as error:
        if error.status == 404:
            return True
        raise
    return False


def test_kube_reports_the_pinned_release_when_asked_its_version(api: client.ApiClient) -> None:
    pinned = built_tool("LEADSCORE_KUBE_BIN_DIR", "build-control-plane.sh").name  # cache dir = version

    version = client.VersionApi(api).get_code()

    assert version.git_version == pinned


def test_kube_job_controller_creates_a_pod_and_completes_the_job_when_the_pod_succeeds(
    api: client.ApiClient, kube_namespace: str
) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(kube_namespace, _job("infra-job"))

    pods = eventually(lambda: job_pods(core, kube_namespace, "infra-job"), what="the job's pod", timeout=120)
    assert len(pods) == 1
    finish_pod(core, pods[0], message='{"version": "v1"}')

    def complete() -> bool:
        status = batch.read_namespaced_job_status("infra-job", kube_namespace).status
        return any(c.type == "Complete" and c.status == "True" for c in status.conditions or [])

    eventually(complete, what="Job condition Complete", timeout=120)
    pod = core.read_namespaced_pod(pods[0].metadata.name, kube_namespace)
    assert pod.status.container_statuses[0].state.terminated.message == '{"version": "v1"}'


def test_kube_job_fails_when_its_only_pod_fails_and_backoff_limit_is_zero(
    api: client.ApiClient, kube_namespace: str
) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(kube_namespace, _job("infra-failing"))
    pods = eventually(lambda: job_pods(core, kube_namespace, "infra-failing"),
                      what="the job's pod", timeout=120)

    finish_pod(core, pods[0], succeeded=False, exit_code=3, message="DatasetError")

    def failed() -> bool:
        status = batch.read_namespaced_job_status("infra-failing", kube_namespace).status
        return any(c.type == "Failed" and c.status == "True" for c in status.conditions or [])

    eventually(failed, what="Job condition Failed", timeout=120)


def test_kube_garbage_collector_deletes_a_dependent_when_its_owner_is_deleted(
    api: client.ApiClient, kube_namespace: str
) -> None:
    core = client.CoreV1Api(api)
    owner = core.create_namespaced_config_map(
        kube_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="owner")))
    reference = client.V1OwnerReference(api_version="v1", kind="ConfigMap", name="owner",
                                        uid=owner.metadata.uid)
    core.create_namespaced_config_map(kube_namespace, client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="dependent", owner_references=[reference])))
    core.create_namespaced_config_map(
        kube_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="bystander")))

    core.delete_namespaced_config_map("owner", kube_namespace, propagation_policy="Background")

    eventually(lambda: _gone(lambda: core.read_namespaced_config_map("dependent", kube_namespace)),
               what="the dependent ConfigMap to be garbage-collected", timeout=120)
    assert core.read_namespaced_config_map("bystander", kube_namespace).metadata.name == "bystander"


def test_kube_rbac_forbids_a_user_without_bindings_when_listing_pods(
    kube: ControlPlane, kube_namespace: str
) -> None:
    with kube.api_client() as api_client:
        api_client.set_default_header("Impersonate-User", "nobody")
        with pytest.raises(ApiException) as caught:
            client.CoreV1Api(api_client).list_namespaced_pod(kube_namespace)

    assert caught.value.status == 403

"""`helm install` of charts/leadscore against the real test kube-apiserver.

There is no kubelet, so pods never run: these tests check what the apiserver accepted and stored
(every object, the post-install peering hook, CRDs kept on uninstall, credentials kept across
upgrades) and what the operator's RBAC really allows, asked through SubjectAccessReviews.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from support.controlplane import ControlPlane
from support.helm import Helm

pytestmark = [pytest.mark.integration, pytest.mark.kserve]

_releases = itertools.count()


@contextmanager
def installed(helm: Helm, chart: Path, namespace: str, *sets: str) -> Iterator[str]:
    """A release of the chart in ``namespace`` (uninstalled afterwards); its name."""
    release = f"ls{next(_releases)}"
    # Shared cluster-scoped objects (the CRDs) may come from an earlier release or test: adopt them.
    # The kserve fixture's `leadscore` runtime auto-selects the same format: KServe refuses a second
    # one of equal priority, so each release's runtime takes its own.
    helm.run("install", release, str(chart), "--namespace", namespace, "--take-ownership",
             "--set", f"servingRuntime.name={release}-runtime",
             "--set", f"servingRuntime.priority={2 + int(release[2:])}",
             *(a for s in sets for a in ("--set", s)))
    try:
        yield release
    finally:
        helm.run("uninstall", release, "--namespace", namespace, "--wait", "--timeout", "60s")


def can(api: Any, account: tuple[str, str], verb: str, group: str, resource: str,
        namespace: str | None, name: str | None = None) -> bool:
    """Whether the apiserver's RBAC lets ServiceAccount ``account`` (namespace, name) do ``verb``."""
    from kubernetes import client

    sa_namespace, account_name = account
    review = client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
        user=f"system:serviceaccount:{sa_namespace}:{account_name}",
        groups=["system:serviceaccounts", f"system:serviceaccounts:{sa_namespace}", "system:authenticated"],
        resource_attributes=client.V1ResourceAttributes(
            verb=verb, group=group, resource=resource, namespace=namespace, name=name)))
    return bool(client.AuthorizationV1Api(api).create_subject_access_review(review).status.allowed)


def test_install_creates_every_object_when_dependencies_bundled(
        kube: ControlPlane, kube_helm: Helm, installable_chart: Path, kube_namespace: str,
        other_namespace: str) -> None:
    from kubernetes import client

    with installed(kube_helm, installable_chart, kube_namespace, f"modelNamespaces.names={{{other_namespace}}}",
                   "collector.export.enabled=true", "collector.export.output=s3://leadscore-data/pc/scored.parquet",
                   f"collector.export.namespace={other_namespace}",
                   ) as release, kube.api_client() as api:
        prefix = f"{release}-leadscore"
        export = client.BatchV1Api(api).read_namespaced_cron_job(f"{prefix}-collector-export", kube_namespace)
        assert (export.spec.schedule, export.spec.time_zone) == ("0 3 1 * *", "Etc/UTC")
        deployments = {d.metadata.name for d in client.AppsV1Api(api).list_namespaced_deployment(
            kube_namespace, label_selector=f"app.kubernetes.io/instance={release}").items}
        components = ("operator", "collector", "minio", "mlflow", "postgresql")
        assert deployments == {f"{prefix}-{c}" for c in components}
        core = client.CoreV1Api(api)
        collector = core.read_namespaced_service(f"{prefix}-collector", kube_namespace)
        assert [p.port for p in collector.spec.ports] == [8090]
        custom = client.CustomObjectsApi(api)
        runtime = custom.get_cluster_custom_object("serving.kserve.io", "v1alpha1", "clusterservingruntimes",
                                                   f"{release}-runtime")
        assert [p["containerPort"] for p in runtime["spec"]["containers"][0]["ports"]] == [8080, 8081]
        # The post-install hook created the peering object once the release's kopf CRDs were served.
        peering = custom.get_cluster_custom_object("kopf.dev", "v1", "clusterkopfpeerings", prefix)
        assert peering["metadata"]["name"] == prefix
        # The model namespace got its settings, and its Secret holds MinIO's generated credentials.
        minio = core.read_namespaced_secret(f"{prefix}-minio", kube_namespace).data
        copy = core.read_namespaced_secret("leadscore-s3", other_namespace).data
        assert copy == {"AWS_ACCESS_KEY_ID": minio["accessKey"], "AWS_SECRET_ACCESS_KEY": minio["secretKey"]}
        assert core.read_namespaced_config_map("leadscore-mlflow", other_namespace).data == {
            "MLFLOW_TRACKING_URI": f"http://{prefix}-mlflow.{kube_namespace}.svc:5000"}
        # NOTES: the endpoints and the one next step, for this release.
        notes = kube_helm.run("status", release, "--namespace", kube_namespace)
        assert f"collector  http://{prefix}-collector.{kube_namespace}.svc:8090" in notes
        assert f"kubectl apply -n {other_namespace} -f manifests/examples/pc/leadscoringmodel.yaml" in notes


def test_upgrade_keeps_generated_credentials(
        kube: ControlPlane, kube_helm: Helm, installable_chart: Path, kube_namespace: str) -> None:
    from kubernetes import client

    with installed(kube_helm, installable_chart, kube_namespace) as release, kube.api_client() as api:
        core = client.CoreV1Api(api)
        names = (f"{release}-leadscore-minio", f"{release}-leadscore-database")
        before = {name: core.read_namespaced_secret(name, kube_namespace).data for name in names}
        kube_helm.run("upgrade", release, str(installable_chart), "--namespace", kube_namespace,
                      "--reuse-values", "--set", "operator.intervals.pollSeconds=30")
        after = {name: core.read_namespaced_secret(name, kube_namespace).data for name in names}
        assert after == before
        settings = core.read_namespaced_config_map(f"{release}-leadscore-operator", kube_namespace).data
        assert settings["LEADSCORE_POLL_SECONDS"] == "30"


def test_uninstall_keeps_the_crds_and_removes_the_workloads(
        kube: ControlPlane, kube_helm: Helm, installable_chart: Path, kube_namespace: str) -> None:
    from kubernetes import client

    with kube.api_client() as api:
        with installed(kube_helm, installable_chart, kube_namespace) as release:
            pass
        apps = client.AppsV1Api(api)
        remaining = apps.list_namespaced_deployment(kube_namespace,
                                                    label_selector=f"app.kubernetes.io/instance={release}")
        assert remaining.items == []
        extensions = client.ApiextensionsV1Api(api)
        for name in ("leadscoringmodels.leadscoring.io", "abexperiments.leadscoring.io"):
            assert extensions.read_custom_resource_definition(name).metadata.name == name


def test_operator_rbac_allows_its_work_cluster_wide_and_nothing_more(
        kube: ControlPlane, kube_helm: Helm, installable_chart: Path, kube_namespace: str,
        other_namespace: str) -> None:
    with installed(kube_helm, installable_chart, kube_namespace) as release, kube.api_client() as api:
        operator = (kube_namespace, f"{release}-leadscore-operator")
        assert can(api, operator, "create", "batch", "jobs", other_namespace)
        assert can(api, operator, "patch", "leadscoring.io", "leadscoringmodels/status", other_namespace)
        assert can(api, operator, "patch", "serving.kserve.io", "inferenceservices", other_namespace)
        assert can(api, operator, "create", "ray.io", "rayjobs", other_namespace)
        assert can(api, operator, "list", "ray.io", "rayjobs", other_namespace)
        assert not can(api, operator, "delete", "ray.io", "rayjobs", other_namespace)
        assert not can(api, operator, "create", "ray.io", "rayclusters", other_namespace)
        assert can(api, operator, "watch", "apiextensions.k8s.io", "customresourcedefinitions", None)
        assert can(api, operator, "get", "", "configmaps", "kserve", name="inferenceservice-config")
        assert not can(api, operator, "get", "", "configmaps", "kserve", name="other")
        assert not can(api, operator, "get", "", "secrets", other_namespace)
        assert not can(api, operator, "delete", "batch", "jobs", other_namespace)
        assert not can(api, operator, "create", "apps", "deployments", other_namespace)
        assert not can(api, operator, "update", "serving.kserve.io", "inferenceservices", other_namespace)
        assert not can(api, operator, "delete", "leadscoring.io", "leadscoringmodels", other_namespace)


def test_operator_rbac_stays_in_the_watched_namespace_when_watch_namespace_set(
        kube: ControlPlane, kube_helm: Helm, installable_chart: Path, kube_namespace: str,
        other_namespace: str) -> None:
    from kubernetes import client

    with installed(kube_helm, installable_chart, kube_namespace,
                   f"operator.watchNamespace={other_namespace}") as release, kube.api_client() as api:
        operator = (kube_namespace, f"{release}-leadscore-operator")
        assert can(api, operator, "create", "batch", "jobs", other_namespace)
        assert can(api, operator, "patch", "kopf.dev", "kopfpeerings", other_namespace)
        assert not can(api, operator, "create", "batch", "jobs", kube_namespace)
        assert not can(api, operator, "list", "leadscoring.io", "leadscoringmodels", None)
        peering = client.CustomObjectsApi(api).get_namespaced_custom_object(
            "kopf.dev", "v1", other_namespace, "kopfpeerings", f"{release}-leadscore")
        assert peering["metadata"]["namespace"] == other_namespace

"""`helm install` of charts/leadscore on the real node: the operator runs as its pod under the
chart's ServiceAccount and RBAC, and reconciles a LeadScoringModel into a training Job; the console
runs as its pod and answers its readiness probe."""

from __future__ import annotations

import contextlib
import subprocess
from typing import Any

import pytest

from support.cluster import install_crds
from support.helm import CHART
from support.node import deployment_available, pod_report
from support.polling import eventually

pytestmark = [pytest.mark.node, pytest.mark.slow]

RELEASE = NAMESPACE = "leadscore"
MODEL = {"apiVersion": "leadscoring.io/v1alpha1", "kind": "LeadScoringModel", "metadata": {"name": "pc-leads"},
         "spec": {"vertical": "pc", "dataset": {"uri": "s3://leadscore-data/pc/leads.csv"},
                  "training": {"algorithms": ["lr"], "trials": 1}}}


def test_helm_install_runs_the_operator_under_the_charts_rbac(node_cluster: Any, helm_bin: Any,
                                                              kserve_install: Any) -> None:
    from kubernetes import client

    node_cluster.node.load("operator", "console")
    with node_cluster.plane.api_client() as api:
        install_crds(api, kserve_install.crd_files)  # KServe's real CRDs; its controller is not on the node yet
        with contextlib.suppress(client.exceptions.ApiException):  # the chart puts a Role there
            client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="kserve")))
        values = ["minio.enabled=false", "mlflow.enabled=false", "postgresql.enabled=false",
                  "collector.enabled=false", "servingRuntime.enabled=false",
                  "externalObjectStore.endpoint=http://minio.leadscore.svc.cluster.local:9000",
                  "externalMlflow.trackingUri=http://mlflow.leadscore.svc.cluster.local:5000",
                  "operator.image.repository=docker.io/leadscore/operator", "operator.image.tag=dev",
                  "operator.image.pullPolicy=Never", "operator.trainer.image.repository=docker.io/leadscore/trainer",
                  "operator.trainer.image.tag=dev",
                  "console.enabled=true", "console.image.repository=docker.io/leadscore/console",
                  "console.image.tag=dev", "console.image.pullPolicy=Never"]
        args = [str(helm_bin), "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--create-namespace",
                "--kubeconfig", str(node_cluster.plane.kubeconfig)]
        for value in values:
            args += ["--set", value]
        done = subprocess.run(args, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        try:
            apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
            by_component = {d.metadata.labels.get("app.kubernetes.io/component"): d
                            for d in apps.list_namespaced_deployment(NAMESPACE).items}
            deployments = {component: d.metadata.name for component, d in by_component.items()}
            operator = by_component["operator"]
            for component in ("operator", "console"):  # Available only once the readiness probe answers
                try:
                    eventually(lambda name=deployments[component]: deployment_available(api, NAMESPACE, name),
                               what=f"the {component} Deployment Available", timeout=300, interval=2)
                except AssertionError as exc:
                    logs = [node_cluster.node.pod_log(NAMESPACE, p.metadata.name)
                            for p in core.list_namespaced_pod(NAMESPACE).items]
                    raise AssertionError("\n".join([str(exc), pod_report(api, NAMESPACE), *logs])) from None
            console = core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/component=console")
            assert console.items[0].spec.service_account_name != "default"
            pod = core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/component=operator").items[0]
            assert pod.spec.service_account_name == operator.spec.template.spec.service_account_name != "default"
            assert pod.status.container_statuses[0].ready

            custom, batch = client.CustomObjectsApi(api), client.BatchV1Api(api)
            custom.create_namespaced_custom_object("leadscoring.io", "v1alpha1", NAMESPACE, "leadscoringmodels", MODEL)
            try:
                jobs = eventually(lambda: batch.list_namespaced_job(
                    NAMESPACE, label_selector="leadscoring.io/model=pc-leads").items,
                    what="the operator's training Job", timeout=180, interval=2)
            except AssertionError as exc:
                status = custom.get_namespaced_custom_object("leadscoring.io", "v1alpha1", NAMESPACE,
                                                             "leadscoringmodels", "pc-leads").get("status")
                raise AssertionError(f"{exc}\nstatus: {status}\n"
                                     f"{node_cluster.node.pod_log(NAMESPACE, pod.metadata.name)}") from None
            assert jobs[0].spec.template.spec.containers[0].image == "docker.io/leadscore/trainer:dev"
        finally:
            subprocess.run([str(helm_bin), "uninstall", RELEASE, "--namespace", NAMESPACE, "--kubeconfig",
                            str(node_cluster.plane.kubeconfig), "--wait", "--timeout", "120s"],
                           capture_output=True, timeout=180)

"""`helm install` of charts/leadscore on the real node: the operator runs as its pod under the
chart's ServiceAccount and RBAC, and reconciles a LeadScoringModel into a training Job; the console
runs as its pod and answers its readiness probe; the collector's database (the test PostgreSQL on
the host, an external database to the chart) is migrated by the pre-install hook Job, and the
collector, which then only checks the schema, turns Available; `helm test` passes."""

from __future__ import annotations

import contextlib
import re
import subprocess
from contextlib import ExitStack
from typing import Any

import pytest
from release import DATABASE_SERVICE, IMAGE_VALUES, NAMESPACE, RELEASE, external_database, helm_install, uninstall

from support.cluster import install_crds
from support.node import deployment_available, pod_report
from support.polling import eventually
from support.postgres import PostgresServer

pytestmark = [pytest.mark.node, pytest.mark.slow]

MODEL = {"apiVersion": "leadscoring.io/v1alpha1", "kind": "LeadScoringModel", "metadata": {"name": "pc-leads"},
         "spec": {"vertical": "pc", "dataset": {"uri": "s3://leadscore-data/pc/leads.csv"},
                  "training": {"algorithms": ["lr"], "trials": 1}}}


def _schema_revision(url: str) -> str | None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()


def _head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "leadscore.store:migrations")
    return ScriptDirectory.from_config(config).get_current_head()


def test_helm_install_runs_the_operator_under_the_charts_rbac(node_cluster: Any, helm_bin: Any,
                                                              kserve_install: Any, postgres_server: PostgresServer,
                                                              postgres_database: str) -> None:
    from kubernetes import client

    node_cluster.node.load("operator", "console", "collector")
    database = postgres_database.rsplit("/", 1)[1]
    with node_cluster.plane.api_client() as api, ExitStack() as stack:
        install_crds(api, kserve_install.crd_files)  # KServe's real CRDs; its controller is not on the node yet
        core = client.CoreV1Api(api)
        for namespace in ("kserve", NAMESPACE):  # the chart puts a Role in kserve; the database Secret goes here
            with contextlib.suppress(client.exceptions.ApiException):
                core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
        external_database(api, stack, node_cluster.node, postgres_server, database)
        values = ["minio.enabled=false", "mlflow.enabled=false", "postgresql.enabled=false",
                  f"externalDatabase.existingSecret={DATABASE_SERVICE}",
                  "externalObjectStore.endpoint=http://minio.leadscore.svc.cluster.local:9000",
                  "externalMlflow.trackingUri=http://mlflow.leadscore.svc.cluster.local:5000",
                  "console.enabled=true", *IMAGE_VALUES]
        # the pre-install hook Job migrates before anything else is created; helm waits for it
        done = helm_install(helm_bin, node_cluster.plane.kubeconfig, values)
        try:
            if done.returncode != 0:
                migration = core.list_namespaced_pod(
                    NAMESPACE, label_selector="app.kubernetes.io/component=collector-migrate").items
                logs = [node_cluster.node.pod_log(NAMESPACE, p.metadata.name) for p in migration]
                raise AssertionError("\n".join([done.stderr, pod_report(api, NAMESPACE), *logs]))
            assert _schema_revision(postgres_database) == _head_revision()
            apps = client.AppsV1Api(api)
            by_component = {d.metadata.labels.get("app.kubernetes.io/component"): d
                            for d in apps.list_namespaced_deployment(NAMESPACE).items}
            deployments = {component: d.metadata.name for component, d in by_component.items()}
            operator = by_component["operator"]
            # Available only once the readiness probe answers; the collector only if the hook migrated
            for component in ("operator", "console", "collector"):
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

            tested = subprocess.run([str(helm_bin), "test", RELEASE, "--namespace", NAMESPACE, "--kubeconfig",
                                     str(node_cluster.plane.kubeconfig), "--timeout", "180s"],
                                    capture_output=True, text=True, timeout=240)
            test_pods = core.list_namespaced_pod(NAMESPACE, label_selector="app.kubernetes.io/component=test").items
            logs = [node_cluster.node.pod_log(NAMESPACE, p.metadata.name) for p in test_pods]
            assert tested.returncode == 0, "\n".join([tested.stdout, tested.stderr, pod_report(api, NAMESPACE), *logs])
            assert sorted((p.metadata.name, p.status.phase) for p in test_pods) == [
                (f"{RELEASE}-test-collector", "Succeeded"), (f"{RELEASE}-test-release", "Succeeded")]
            suites = dict(re.findall(r"^TEST SUITE:\s+(\S+)\n(?:.*\n){2}Phase:\s+(\S+)$", tested.stdout, re.M))
            assert {f"{RELEASE}-test-release", f"{RELEASE}-test-collector"} <= set(suites), tested.stdout
            assert set(suites.values()) == {"Succeeded"}, tested.stdout  # the test account and its RBAC too
        finally:
            uninstall(api, helm_bin, node_cluster.plane.kubeconfig)

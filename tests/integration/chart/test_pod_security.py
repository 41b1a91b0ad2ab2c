"""Pod Security ``restricted``: every pod the chart or the operator makes is admitted by a namespace
that enforces it, on the real kube-apiserver (its PodSecurity admission plugin is on by default).

There is no kubelet or ReplicaSet controller: chart workloads are checked by creating a Pod from
each pod template with a server-side dry run (admission runs, nothing is stored); the training
Job is created for real and the job controller must create its pod. A bare pod is refused first,
so a namespace that silently admits everything cannot make these tests pass.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leadscore.api.leadscoringmodel import LeadScoringModelSpec, LeadScoringModelStatus
from leadscore.operator.builders import inference_service_manifest, plan_serving, training_job_manifest
from leadscore.operator.deployment_mode import STANDARD
from leadscore.operator.settings import OperatorSettings
from support.controlplane import ControlPlane, fresh_namespace
from support.helm import Helm, only
from support.polling import eventually

pytestmark = pytest.mark.integration

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted",
              "pod-security.kubernetes.io/enforce-version": "latest"}
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")
_numbers = itertools.count()


@pytest.fixture
def restricted_namespace(kube: ControlPlane) -> Iterator[str]:
    """A fresh namespace labelled to enforce Pod Security ``restricted``."""
    with fresh_namespace(kube, f"restricted-{os.getpid()}-{next(_numbers)}", RESTRICTED) as name:
        yield name


def admit(api: Any, namespace: str, name: str, pod_spec: dict[str, Any]) -> str | None:
    """Create a Pod from ``pod_spec`` with a dry run; None when admitted, else the apiserver's reason."""
    from kubernetes import client

    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": pod_spec}
    try:
        client.CoreV1Api(api).create_namespaced_pod(namespace, body, dry_run="All")
    except client.exceptions.ApiException as exc:
        return str(exc.body)
    return None


def pod_templates(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``kind/name`` -> the pod spec of every workload among ``objects``."""
    out = {}
    for obj in objects:
        if obj["kind"] not in WORKLOAD_KINDS:
            continue
        spec = obj["spec"]
        if obj["kind"] == "Pod":  # `helm test` hooks
            out[f"Pod/{obj['metadata']['name']}"] = spec
            continue
        if obj["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        out[f"{obj['kind']}/{obj['metadata']['name']}"] = spec["template"]["spec"]
    return out


def test_namespace_refuses_a_pod_without_the_restricted_settings(kube: ControlPlane,
                                                                  restricted_namespace: str) -> None:
    with kube.api_client() as api:
        reason = admit(api, restricted_namespace, "bare", {"containers": [{"name": "c", "image": "busybox"}]})
    assert reason is not None and "restricted" in reason


# bundled PostgreSQL (the collector's migrate init container), or an external database (the
# migration hook Job)
DATABASES = {"bundled": ["postgresql.persistence.enabled=true"],
             "external": ["postgresql.enabled=false", "externalDatabase.existingSecret=events-db"]}


@pytest.mark.parametrize("database", sorted(DATABASES))
def test_every_chart_pod_is_admitted_by_a_restricted_namespace(
        kube: ControlPlane, helm_bin: Path, installable_chart: Path, restricted_namespace: str, database: str) -> None:
    objects = Helm(helm_bin).template(
        installable_chart, namespace=restricted_namespace,
        set_values=["collector.export.enabled=true", "collector.export.output=s3://leadscore-data/export.parquet",
                    "collector.export.namespace=pc", "minio.persistence.enabled=true", *DATABASES[database]],
        api_versions=["serving.kserve.io/v1alpha1"])
    templates = pod_templates(objects)
    assert {k.split("/")[0] for k in templates} >= {"Deployment", "CronJob", "Pod"}  # Pod: `helm test`
    assert ("Job" in {k.split("/")[0] for k in templates}) == (database == "external")
    assert len(templates) >= 6  # operator, collector, minio, mlflow, (postgresql,) export, tests
    with kube.api_client() as api:
        verdicts = {key: admit(api, restricted_namespace, f"pod-{i}", spec)
                    for i, (key, spec) in enumerate(templates.items())}
    assert {key: reason for key, reason in verdicts.items() if reason} == {}


def _spec() -> LeadScoringModelSpec:
    return LeadScoringModelSpec.model_validate({
        "vertical": "pc", "dataset": {"uri": "s3://data/leads.parquet", "targetColumn": "converted"},
        "training": {"gpu": 1}})


def test_training_job_pod_is_created_in_a_restricted_namespace(kube: ControlPlane,
                                                                restricted_namespace: str) -> None:
    """The job controller creates the trainer pod; PodSecurity would refuse it with a FailedCreate."""
    from kubernetes import client

    job = training_job_manifest(restricted_namespace, "pc-leads", "v1", "s3://models/pc-leads/v1/",
                                _spec(), OperatorSettings())
    name = job["metadata"]["name"]
    with kube.api_client() as api:
        client.BatchV1Api(api).create_namespaced_job(restricted_namespace, job)
        core = client.CoreV1Api(api)

        def created() -> list[Any] | None:
            pods = core.list_namespaced_pod(restricted_namespace, label_selector=f"job-name={name}").items
            if pods:
                return pods
            refusals = [e.message for e in core.list_namespaced_event(restricted_namespace).items
                        if e.reason == "FailedCreate"]
            assert refusals == [], refusals
            return None

        pods = eventually(created, what="the trainer pod", timeout=60)
    assert pods[0].spec.security_context.seccomp_profile.type == "RuntimeDefault"


def test_predictor_pod_is_admitted_by_a_restricted_namespace(
        kube: ControlPlane, helm_bin: Path, installable_chart: Path, restricted_namespace: str) -> None:
    """The pod KServe builds: the chart's runtime container under the ISVC's pod-level fields."""
    objects = Helm(helm_bin).template(installable_chart, api_versions=["serving.kserve.io/v1alpha1"])
    runtime = only(objects, "ClusterServingRuntime")["spec"]
    status = LeadScoringModelStatus.model_validate({
        "activeVersion": "v1", "versions": [{"version": "v1", "artifactUri": "s3://models/ns/m/v1/", "jobName": "m-v1",
                      "gate": "Passed"}]})
    spec = _spec()
    plan = plan_serving(restricted_namespace, spec, status, mode=STANDARD)
    assert plan is not None
    predictor = inference_service_manifest(restricted_namespace, "m", spec, plan,
                                           OperatorSettings())["spec"]["predictor"]
    container = {**runtime["containers"][0], "name": "kserve-container", "image": "leadscore/predictor:dev",
                 "args": [a.replace("{{.Name}}", "m") for a in runtime["containers"][0].get("args", [])]}
    pod = {"containers": [container], "volumes": runtime.get("volumes", []),
           **{k: predictor[k] for k in ("securityContext", "nodeSelector", "tolerations") if k in predictor}}
    with kube.api_client() as api:
        assert admit(api, restricted_namespace, "predictor", pod) is None

"""Every InferenceService the operator renders, admitted and reconciled by the real KServe
controller (v0.20, Standard mode): its defaulting and validating webhooks run on create and
update, and the Deployment and Service it makes carry our runtime, storage, logger, A/B
environment and resources. Nothing here plays KServe; no pod runs (the Deployment is enough)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import PREDICTOR_SA, S3_ENDPOINT, S3_SECRET, env_of

from leadscore.api.leadscoringmodel import (
    ExperimentBinding,
    LeadScoringModelSpec,
    LeadScoringModelStatus,
    ModelVersion,
)
from leadscore.operator.builders import inference_service_manifest, plan_serving
from leadscore.operator.deployment_mode import DEPLOYMENT_MODE_ANNOTATION, STANDARD
from leadscore.operator.settings import OperatorSettings
from support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.kserve]

COLLECTOR = "http://leadscore-collector.leadscore.svc:8090"
ISVC = ("inferenceservices", "serving.kserve.io", "v1beta1")


def settings() -> OperatorSettings:
    return OperatorSettings.from_env({"LEADSCORE_COLLECTOR_URL": COLLECTOR,
                                      "LEADSCORE_PREDICTOR_SERVICE_ACCOUNT": PREDICTOR_SA})


def spec(**serving: Any) -> LeadScoringModelSpec:
    return LeadScoringModelSpec.model_validate({
        "vertical": "health", "dataset": {"uri": "s3://leads/health.parquet"},
        "serving": {"resources": {"requests": {"cpu": "500m", "memory": "512Mi"},
                                  "limits": {"cpu": "1", "memory": "1Gi"}}, **serving}})


def status(namespace: str, *versions: str, **fields: Any) -> LeadScoringModelStatus:
    recorded = [ModelVersion(version=v, artifact_uri=f"s3://models/{namespace}/m/{v}/", job_name=f"m-train-{v}",
                             gate="Passed", metrics={"roc_auc": 0.8}) for v in versions]
    return LeadScoringModelStatus(versions=recorded, **fields)


def render(namespace: str, model_spec: LeadScoringModelSpec, model_status: LeadScoringModelStatus) -> dict:
    plan = plan_serving(namespace, model_spec, model_status, mode=STANDARD)
    assert plan is not None
    return inference_service_manifest(namespace, "m", model_spec, plan, settings())


def apply(cluster, manifest: dict) -> dict:
    """Create, or replace the live object's spec (as the operator does): through KServe's webhooks."""
    plural, group, version = ISVC
    current = cluster.get(plural, "m", group=group, version=version)
    if current is None:
        return cluster.create(plural, manifest, group=group, version=version)
    body = {**current, "metadata": {**current["metadata"], "labels": manifest["metadata"]["labels"],
                                    "annotations": {**current["metadata"].get("annotations", {}),
                                                    **manifest["metadata"].get("annotations", {})}},
            "spec": manifest["spec"]}
    return cluster.custom.replace_namespaced_custom_object(group, version, cluster.namespace, plural, "m", body)


def predictor_deployment(cluster, storage_uri: str, name: str = "m-predictor"):
    """The Deployment KServe made, once it serves ``storage_uri``."""
    from kubernetes.client.exceptions import ApiException

    from kubernetes import client

    apps = client.AppsV1Api(cluster.api)

    def current():
        try:
            deployment = apps.read_namespaced_deployment(name, cluster.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        init = deployment.spec.template.spec.init_containers or []
        uris = [a for c in init for a in c.args or []]
        return deployment if storage_uri in uris else None

    return eventually(current, what=f"Deployment {name} serving {storage_uri}", timeout=90)


def containers(deployment) -> dict[str, Any]:
    pod = deployment.spec.template.spec
    return {c.name: c for c in [*(pod.init_containers or []), *pod.containers]}


def test_first_version_is_admitted_and_reconciled_into_a_standard_deployment_and_service(model_namespace):
    cluster = model_namespace
    ns = cluster.namespace
    admitted = apply(cluster, render(ns, spec(), status(ns, "v1", active_version="v1")))
    # defaulting ran: the webhook wrote the cluster's mode and the predictor's protocol
    assert admitted["metadata"]["annotations"][DEPLOYMENT_MODE_ANNOTATION] == STANDARD
    deployment = predictor_deployment(cluster, f"s3://models/{ns}/m/v1/")
    parts = containers(deployment)
    # the `leadscore` runtime, chosen by model format: its container, image and args
    server = parts["kserve-container"]
    assert server.image.startswith("leadscore/predictor")
    assert "--model_name=m" in server.args and "--model_dir=/mnt/models" in server.args
    assert {p.name for p in server.ports} >= {"http1"}
    # storage initializer: storageUri in, S3 credentials from the ServiceAccount's Secret
    init = parts["storage-initializer"]
    assert init.args[0] == f"s3://models/{ns}/m/v1/" and init.args[1] == "/mnt/models"
    env = env_of(init)
    assert env["AWS_ACCESS_KEY_ID"].secret_key_ref.name == S3_SECRET
    assert env["AWS_SECRET_ACCESS_KEY"].secret_key_ref.name == S3_SECRET
    assert env["S3_ENDPOINT"] == S3_ENDPOINT and env["S3_USE_HTTPS"] == "0"
    assert deployment.spec.template.spec.service_account_name == PREDICTOR_SA
    # logger agent sidecar: to the collector, with the experiment annotation as metadata
    agent = parts["agent"]
    assert f"{COLLECTOR}/v1/events" in agent.args
    assert "leadscoring.io/experiment" in " ".join(agent.args)
    # resources of the predictor container are ours
    assert server.resources.limits == {"cpu": "1", "memory": "1Gi"}
    assert server.resources.requests == {"cpu": "500m", "memory": "512Mi"}
    # the Service KServe made routes to the agent (which forwards to the predictor)
    from kubernetes import client

    service = client.CoreV1Api(cluster.api).read_namespaced_service("m-predictor", ns)
    assert service.spec.selector == {"app": "isvc.m-predictor"}

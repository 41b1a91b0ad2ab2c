"""Every InferenceService the operator renders, admitted and reconciled by the real KServe
controller (v0.20, Standard mode): its defaulting and validating webhooks run on create and
update, the Deployment and Service it makes carry our runtime, resources and A/B environment,
and the Pod the ReplicaSet controller creates passes KServe's pod webhook, which adds the
storage initializer and the logger agent. Nothing here plays KServe. Pods never run (no kubelet);
only the readiness test plays the kubelet, for the one pod, and says so."""

from __future__ import annotations

import copy
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
from leadscore.operator.deployment_mode import DEPLOYMENT_MODE_ANNOTATION, KNATIVE, STANDARD
from leadscore.operator.kube import FIELD_MANAGER, Kube
from leadscore.operator.observe import observe_isvc
from leadscore.operator.settings import OperatorSettings
from support.helm import chart_object
from support.kserve import INGRESS_DOMAIN
from support.kubelet import make_ready
from support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.kserve]

COLLECTOR = "http://leadscore-collector.leadscore.svc:8090"
GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"
SOURCE_URI = "internal.serving.kserve.io/storage-initializer-sourceuri"
RESOURCES = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def settings() -> OperatorSettings:
    return OperatorSettings.from_env({"LEADSCORE_COLLECTOR_URL": COLLECTOR,
                                      "LEADSCORE_PREDICTOR_SERVICE_ACCOUNT": PREDICTOR_SA})


def spec(**serving: Any) -> LeadScoringModelSpec:
    return LeadScoringModelSpec.model_validate({
        "vertical": "health", "dataset": {"uri": "s3://leads/health.parquet"},
        "serving": {"resources": RESOURCES, **serving}})


def status(namespace: str, *versions: str, **fields: Any) -> LeadScoringModelStatus:
    recorded = [ModelVersion(version=v, artifact_uri=uri(namespace, v), job_name=f"m-train-{v}",
                             gate="Passed", metrics={"roc_auc": 0.8}) for v in versions]
    return LeadScoringModelStatus(versions=recorded, **fields)


def uri(namespace: str, version: str) -> str:
    return f"s3://models/{namespace}/m/{version}/"


def render(namespace: str, model_spec: LeadScoringModelSpec, model_status: LeadScoringModelStatus,
           mode: str = STANDARD) -> dict:
    plan = plan_serving(namespace, model_spec, model_status, mode=mode)
    assert plan is not None
    return inference_service_manifest(namespace, "m", model_spec, plan, settings())


def apply(cluster, manifest: dict) -> dict:
    """Server-side apply it the way the operator does (Kube.apply_isvc): through KServe's webhooks."""
    return Kube(cluster.api).apply_isvc(copy.deepcopy(manifest))


def managers(obj: dict, subresource: str = "") -> dict[str, Any]:
    """Field managers of ``obj`` (its main resource or ``subresource``) and the fields each owns."""
    return {entry["manager"]: entry.get("fieldsV1", {}) for entry in obj["metadata"].get("managedFields", [])
            if entry.get("subresource", "") == subresource}


def apps(cluster):
    from kubernetes import client

    return client.AppsV1Api(cluster.api)


def predictor_pod(cluster, storage_uri: str, component: str = "m-predictor"):
    """The Pod the ReplicaSet controller made for ``storage_uri``, as KServe's pod webhook left it."""
    def found():
        pods = cluster.core.list_namespaced_pod(cluster.namespace, label_selector=f"app=isvc.{component}").items
        return next((p for p in pods if (p.metadata.annotations or {}).get(SOURCE_URI) == storage_uri), None)

    return eventually(found, what=f"a {component} pod for {storage_uri}", timeout=90)


def deployment(cluster, name: str = "m-predictor"):
    return apps(cluster).read_namespaced_deployment(name, cluster.namespace)


def by_name(containers) -> dict[str, Any]:
    return {c.name: c for c in containers or ()}


def test_first_version_is_admitted_and_reconciled_into_a_deployment_service_and_pod(model_namespace):
    cluster, ns = model_namespace, model_namespace.namespace
    desired = render(ns, spec(), status(ns, "v1", active_version="v1"))
    admitted = apply(cluster, desired)
    # KServe's defaulting webhook ran on create: it wrote the cluster's mode onto the object,
    # and applying the same manifest again changes nothing we write (no churn on every pass).
    # resourceVersion is no witness: KServe's controller may write status or a finalizer between
    # the two applies; generation counts spec changes only.
    assert admitted["metadata"]["annotations"][DEPLOYMENT_MODE_ANNOTATION] == STANDARD
    again = apply(cluster, desired)
    assert again["metadata"]["generation"] == admitted["metadata"]["generation"]
    assert again["spec"] == admitted["spec"]
    for field in ("labels", "annotations"):
        assert again["metadata"].get(field) == admitted["metadata"].get(field)
    pod = predictor_pod(cluster, uri(ns, "v1"))
    isvc = cluster.get(PLURAL, "m", group=GROUP, version=VERSION)
    assert isvc["status"]["clusterServingRuntimeName"] == "leadscore"  # chosen for format `leadscore`

    template = deployment(cluster).spec.template
    server = by_name(template.spec.containers)["kserve-container"]
    assert server.image.startswith("leadscore/predictor:")
    assert server.args == ["--model_name=m", "--model_dir=/mnt/models", "--http_port=8080", "--grpc_port=8081",
                           "--host=0.0.0.0"]
    assert server.resources.requests == RESOURCES["requests"] and server.resources.limits == RESOURCES["limits"]
    assert env_of(server)["INFERENCE_SERVICE_NAME"] == "m" and "LEADSCORE_SCORING" in env_of(server)
    assert template.spec.service_account_name == PREDICTOR_SA

    # the pod webhook: storage initializer with the storageUri and the ServiceAccount's S3 Secret
    init = by_name(pod.spec.init_containers)["storage-initializer"]
    assert init.args == [uri(ns, "v1"), "/mnt/models"]
    env = env_of(init)
    assert env["AWS_ACCESS_KEY_ID"].secret_key_ref.name == S3_SECRET
    assert env["AWS_SECRET_ACCESS_KEY"].secret_key_ref.name == S3_SECRET
    assert (env["S3_ENDPOINT"], env["S3_USE_HTTPS"]) == (S3_ENDPOINT, "0")
    # ... and the logger agent sidecar, pointed at the collector, carrying our metadata annotation
    agent = by_name(pod.spec.containers)["agent"]
    args = dict(zip(agent.args[::2], agent.args[1::2], strict=True))
    assert args["--log-url"] == f"{COLLECTOR}/v1/events" and args["--log-mode"] == "all"
    assert args["--component-port"] == "8080"
    assert "--metadata-annotations" in args  # empty value: no experiment annotation yet
    # the CRM's W3C trace context, forwarded in each event's ce-metadata (pkg/logger/handler.go
    # keeps a header when its Go-canonical name is listed exactly)
    assert args["--metadata-headers"] == "Traceparent,Tracestate"
    # Prometheus scrapes the predictor's own port (Standard mode has no queue-proxy)
    annotations = pod.metadata.annotations
    assert (annotations["prometheus.io/scrape"], annotations["prometheus.io/port"]) == ("true", "8080")
    assert annotations["serving.kserve.io/enable-prometheus-scraping"] == "false"

    # the Service: REST through the logger agent (port 9081), gRPC straight to the predictor
    service = cluster.core.read_namespaced_service("m-predictor", ns)
    assert service.spec.selector == {"app": "isvc.m-predictor"}
    ports = {p.name: p for p in service.spec.ports}
    assert (ports["http1"].port, ports["http1"].target_port) == (80, 9081)
    assert (ports["grpc-port"].target_port, ports["grpc-port"].app_protocol) == (8081, "kubernetes.io/h2c")


def test_apply_changes_the_operators_fields_and_leaves_another_managers_alone(model_namespace):
    """Server-side apply: a field another manager set (here a label and the predictor's timeout, as a
    user's kubectl or KServe itself could) survives the operator's next apply, which still changes
    every field the operator owns, and drops those it no longer sets (the experiment annotation)."""
    cluster, ns = model_namespace, model_namespace.namespace
    binding = ExperimentBinding(name="x", assignment="sticky", control="v1", treatment="v2", traffic_percent=30)
    apply(cluster, render(ns, spec(), status(ns, "v1", "v2", active_version="v1", experiment=binding)))
    cluster.custom.patch_namespaced_custom_object(
        GROUP, VERSION, ns, PLURAL, "m", {"metadata": {"labels": {"team": "sales"}},
                                          "spec": {"predictor": {"timeout": 77}}}, field_manager="someone-else")
    updated = apply(cluster, render(ns, spec(), status(ns, "v1", "v2", active_version="v2")))
    predictor = updated["spec"]["predictor"]
    assert predictor["model"]["storageUri"] == uri(ns, "v2") and predictor["timeout"] == 77
    assert updated["metadata"]["labels"]["team"] == "sales"
    assert updated["metadata"]["labels"]["leadscoring.io/version"] == "v2"
    assert "leadscoring.io/experiment" not in updated["metadata"]["annotations"]
    owners = managers(updated)
    assert "f:storageUri" in owners[FIELD_MANAGER]["f:spec"]["f:predictor"]["f:model"]
    assert "f:timeout" in owners["someone-else"]["f:spec"]["f:predictor"]
    assert "f:timeout" not in owners[FIELD_MANAGER]["f:spec"]["f:predictor"]


def test_new_version_update_passes_the_webhooks_and_rolls_the_deployment(model_namespace):
    cluster, ns = model_namespace, model_namespace.namespace
    apply(cluster, render(ns, spec(), status(ns, "v1", active_version="v1")))
    predictor_pod(cluster, uri(ns, "v1"))
    updated = apply(cluster, render(ns, spec(), status(ns, "v1", "v2", active_version="v2", previous_version="v1")))
    assert updated["metadata"]["labels"]["leadscoring.io/version"] == "v2"
    pod = predictor_pod(cluster, uri(ns, "v2"))
    assert by_name(pod.spec.init_containers)["storage-initializer"].args[0] == uri(ns, "v2")
    assert deployment(cluster).spec.template.metadata.annotations[SOURCE_URI] == uri(ns, "v2")


def test_pinned_rollback_serves_the_older_version(model_namespace):
    cluster, ns = model_namespace, model_namespace.namespace
    apply(cluster, render(ns, spec(), status(ns, "v1", "v2", active_version="v2")))
    predictor_pod(cluster, uri(ns, "v2"))
    apply(cluster, render(ns, spec(pinnedVersion="v1"), status(ns, "v1", "v2", active_version="v2")))
    pod = predictor_pod(cluster, uri(ns, "v1"))
    assert pod.metadata.labels["leadscoring.io/version"] == "v1"


def test_gpu_serving_puts_the_gpu_limit_and_placement_on_the_predictor(model_namespace):
    cluster, ns = model_namespace, model_namespace.namespace
    apply(cluster, render(ns, spec(gpu=1), status(ns, "v1", active_version="v1")))
    predictor_pod(cluster, uri(ns, "v1"))
    template = deployment(cluster).spec.template.spec
    server = by_name(template.containers)["kserve-container"]
    assert server.resources.limits["nvidia.com/gpu"] == "1"
    assert env_of(server)["LEADSCORE_DEVICE"] == "cuda"
    assert template.node_selector == {"nvidia.com/gpu.present": "true"}
    assert any(t.key == "nvidia.com/gpu" and t.effect == "NoSchedule" for t in template.tolerations)


def test_sticky_experiment_hands_both_arms_to_the_predictor_and_tags_the_logger(model_namespace):
    cluster, ns = model_namespace, model_namespace.namespace
    binding = ExperimentBinding(name="exp", assignment="sticky", control="v1", treatment="v2", traffic_percent=20)
    apply(cluster, render(ns, spec(), status(ns, "v1", "v2", active_version="v1", experiment=binding)))
    pod = predictor_pod(cluster, uri(ns, "v1"))
    server = by_name(deployment(cluster).spec.template.spec.containers)["kserve-container"]
    env = env_of(server)
    assert env["LEADSCORE_AB_EXPERIMENT"] == "exp"
    assert (env["LEADSCORE_AB_CONTROL_URI"], env["LEADSCORE_AB_TREATMENT_URI"]) == ("/mnt/models", uri(ns, "v2"))
    assert (env["LEADSCORE_AB_TREATMENT_PERCENT"], env["LEADSCORE_AB_SALT"]) == ("20", f"{ns}/exp")
    assert any(source.secret_ref and source.secret_ref.name == "leadscore-s3" for source in server.env_from)
    agent = by_name(pod.spec.containers)["agent"]
    assert agent.args[agent.args.index("--metadata-annotations") + 1] == "leadscoring.io/experiment=exp"


def test_canary_traffic_percent_is_admitted_but_ignored_in_standard_mode(model_namespace):
    """What the operator must not rely on: a Knative-style canary, sent to a Standard install,
    is accepted and then rolls the single Deployment to the new version (no split). Hence
    random experiments are refused in Standard mode (deployment_mode.can_split)."""
    cluster, ns = model_namespace, model_namespace.namespace
    apply(cluster, render(ns, spec(), status(ns, "v1", active_version="v1")))
    predictor_pod(cluster, uri(ns, "v1"))
    binding = ExperimentBinding(name="exp", assignment="random", control="v1", treatment="v2", traffic_percent=30)
    canary = render(ns, spec(), status(ns, "v1", "v2", active_version="v1", experiment=binding), mode=KNATIVE)
    assert canary["spec"]["predictor"]["canaryTrafficPercent"] == 30
    apply(cluster, canary)
    predictor_pod(cluster, uri(ns, "v2"))
    names = [d.metadata.name for d in apps(cluster).list_namespaced_deployment(ns).items]
    assert names == ["m-predictor"]
    assert deployment(cluster).spec.template.metadata.annotations[SOURCE_URI] == uri(ns, "v2")


def test_spec_canary_makes_a_second_deployment_that_the_ingress_never_routes_to(model_namespace):
    """KServe 0.20's Standard-mode canary (spec.canary): a Deployment and Service per canary and a
    status that reports the percentage, but the Ingress sends every request to the stable
    predictor and the stable Service does not select the canary's pods: no split happens."""
    cluster, ns = model_namespace, model_namespace.namespace
    manifest = render(ns, spec(), status(ns, "v1", active_version="v1"))
    model = copy.deepcopy(manifest["spec"]["predictor"]["model"]) | {"storageUri": uri(ns, "v2")}
    manifest["spec"]["canary"] = [{"predictor": {"name": "v2", "model": model}, "trafficPercent": 30}]
    apply(cluster, manifest)
    for storage, component in ((uri(ns, "v1"), "m-predictor"), (uri(ns, "v2"), "m-v2-predictor")):
        make_ready(cluster.core, predictor_pod(cluster, storage, component))  # playing the kubelet
    isvc = eventually(lambda: (i := cluster.get(PLURAL, "m", group=GROUP, version=VERSION))
                      and observe_isvc(i, "v1", []).ready and i, what="InferenceService Ready", timeout=90)
    assert isvc["status"]["canaryStatuses"][0]["trafficPercent"] == 30
    services = {s.metadata.name: s.spec.selector for s in cluster.core.list_namespaced_service(ns).items}
    assert services == {"m-predictor": {"app": "isvc.m-predictor"}, "m-v2-predictor": {"app": "isvc.m-v2-predictor"}}
    from kubernetes import client

    ingress = client.NetworkingV1Api(cluster.api).read_namespaced_ingress("m", ns)
    backends = {path.backend.service.name for rule in ingress.spec.rules for path in rule.http.paths}
    assert backends == {"m-predictor"}


def test_ready_status_and_url_come_from_the_controller_once_the_pod_is_ready(model_namespace):
    cluster, ns = model_namespace, model_namespace.namespace
    apply(cluster, render(ns, spec(), status(ns, "v1", active_version="v1")))
    pod = predictor_pod(cluster, uri(ns, "v1"))
    seen = observe_isvc(cluster.get(PLURAL, "m", group=GROUP, version=VERSION), "v1", [])
    assert not seen.ready and seen.url is None
    make_ready(cluster.core, pod)  # playing the kubelet: the only thing this test does for KServe
    isvc = eventually(lambda: (i := cluster.get(PLURAL, "m", group=GROUP, version=VERSION))
                      and observe_isvc(i, "v1", []).ready and i, what="InferenceService Ready", timeout=90)
    seen = observe_isvc(isvc, "v1", [])
    assert seen.url == f"http://m-{ns}.{INGRESS_DOMAIN}"
    assert isvc["status"]["address"]["url"] == f"http://m-predictor.{ns}.svc.cluster.local"


def test_predictor_pods_pass_pod_security_restricted_through_the_charts_storage_container(model_namespace, helm_bin):
    """KServe injects its storage initializer without a securityContext, so a namespace that
    enforces Pod Security `restricted` refuses the predictor pod (the real node showed it). The
    chart's ClusterStorageContainer, which the operator names in the InferenceService, gives that
    init container what `restricted` requires, and the pod is admitted."""
    from kubernetes import client

    cluster, ns = model_namespace, model_namespace.namespace
    cluster.core.patch_namespace(ns, {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
    apply(cluster, render(ns, spec(), status(ns, "v1", active_version="v1")))

    def refused() -> str | None:
        events = cluster.core.list_namespaced_event(ns).items
        return next((e.message for e in events if e.reason == "FailedCreate" and "storage-initializer" in e.message),
                    None)

    assert 'violates PodSecurity "restricted' in eventually(refused, what="the predictor pod refused", timeout=90)

    container = chart_object(helm_bin, "storagecontainer.yaml", "operator.artifactRoot=s3://models")
    custom = client.CustomObjectsApi(cluster.api)
    name = container["metadata"]["name"]
    custom.create_cluster_custom_object(GROUP, "v1alpha1", "clusterstoragecontainers", container)
    try:
        with_storage = OperatorSettings.from_env({
            "LEADSCORE_COLLECTOR_URL": COLLECTOR, "LEADSCORE_PREDICTOR_SERVICE_ACCOUNT": PREDICTOR_SA,
            "LEADSCORE_STORAGE_CONTAINER": name})
        model_spec, model_status = spec(), status(ns, "v1", active_version="v1")
        plan = plan_serving(ns, model_spec, model_status, mode=STANDARD)
        assert plan is not None
        admitted = apply(cluster, inference_service_manifest(ns, "m", model_spec, plan, with_storage))
        assert admitted["spec"]["predictor"]["storageContainerName"] == "leadscore-storage"
        pod = predictor_pod(cluster, uri(ns, "v1"))
        init = by_name(pod.spec.init_containers)["storage-initializer"].security_context
        assert (init.allow_privilege_escalation, init.capabilities.drop, init.run_as_non_root) == (False, ["ALL"], True)
        assert init.seccomp_profile.type == "RuntimeDefault"
        assert by_name(pod.spec.init_containers)["storage-initializer"].image  # KServe's image, not overridden
    finally:
        custom.delete_cluster_custom_object(GROUP, "v1alpha1", "clusterstoragecontainers", name)

"""`helm template` of charts/leadscore for each profile, asserted on the parsed objects.

Profiles are the chart's ci/*-values.yaml: dev (everything bundled), external (production
services by Secret name only), namespaced (operator.watchNamespace set).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from support.helm import CHART, Helm, HelmError, find, only

PROFILES = {p.name.removesuffix("-values.yaml"): p for p in sorted((CHART / "ci").glob("*-values.yaml"))}
RELEASE, NAMESPACE = "demo", "leadscore"
OPERATOR = f"{RELEASE}-leadscore-operator"
CONSOLE = f"{RELEASE}-leadscore-console"


@pytest.fixture
def render(helm: Helm, chart: Path):
    def _render(profile: str = "dev", *sets: str, release: str = RELEASE) -> list[dict[str, Any]]:
        return helm.template(chart, release=release, namespace=NAMESPACE,
                             values_files=[PROFILES[profile]], set_values=sets)
    return _render


def pods(objects: Sequence[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for deployment in find(objects, "Deployment"):
        yield deployment["metadata"]["name"], deployment["spec"]["template"]["spec"]


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


# --- lint and hardening -------------------------------------------------------------------------

@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_chart_lint_passes_for_profile(helm: Helm, chart: Path, profile: str) -> None:
    out = helm.run("lint", "--strict", str(chart), "--values", str(PROFILES[profile]))
    assert "0 chart(s) failed" in out


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_pod_runs_non_root_read_only_without_capabilities(render, profile: str) -> None:
    objects = render(profile)
    assert list(pods(objects)), "no Deployment rendered"
    for name, spec in pods(objects):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert "limits" in container["resources"] and "memory" in container["resources"]["limits"], name


def test_only_the_operator_the_console_and_the_collector_mount_an_api_token_when_rendered(render) -> None:
    tokens = {name: spec.get("automountServiceAccountToken", True) for name, spec in pods(render("dev"))}
    assert {name for name, mounted in tokens.items() if mounted} == {
        OPERATOR, CONSOLE, f"{RELEASE}-leadscore-collector"}
    # the collector's only to review callers' tokens; without Kubernetes auth it mounts none
    off = {name: spec.get("automountServiceAccountToken", True)
           for name, spec in pods(render("dev", "collector.auth.kubernetes=false"))}
    assert {name for name, mounted in off.items() if mounted} == {OPERATOR, CONSOLE}


def test_collector_auth_rbac_network_policy_and_rate_limit_are_rendered(render) -> None:
    objects = render("dev", "modelNamespaces.names={team-a}", "collector.auth.existingSecret=crm-token")
    writer = only(objects, "ClusterRole", f"{RELEASE}-leadscore-crm-writer")
    assert writer["rules"] == [{"apiGroups": ["leadscoring.io"], "resources": ["outcomes"], "verbs": ["create"]}]
    delegator = only(objects, "ClusterRoleBinding", f"{RELEASE}-leadscore-collector-auth")
    assert delegator["roleRef"]["name"] == "system:auth-delegator"
    assert delegator["subjects"][0]["name"] == f"{RELEASE}-leadscore-collector"
    policy = only(objects, "NetworkPolicy")
    peers = policy["spec"]["ingress"][0]["from"]
    assert peers[1]["namespaceSelector"]["matchExpressions"][0]["values"] == ["team-a"]
    (deployment,) = [d for d in find(objects, "Deployment") if d["metadata"]["name"].endswith("-collector")]
    env = env_of(deployment["spec"]["template"]["spec"]["containers"][0])
    assert env["LEADSCORE_COLLECTOR_KUBE_AUTH"]["value"] == "true"
    assert env["LEADSCORE_COLLECTOR_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "crm-token", "key": "token"}
    assert (env["LEADSCORE_COLLECTOR_RATE"]["value"], env["LEADSCORE_COLLECTOR_BURST"]["value"]) == ("50", "200")


def test_console_may_read_review_and_patch_models_and_experiments_only_when_enabled(render) -> None:
    role = only(render("dev"), "ClusterRole", CONSOLE)
    granted = {(group, resource, verb) for rule in role["rules"] for group in rule["apiGroups"]
               for resource in rule["resources"] for verb in rule["verbs"]}
    assert granted == {("leadscoring.io", "leadscoringmodels", "get"), ("leadscoring.io", "leadscoringmodels", "list"),
                       ("leadscoring.io", "abexperiments", "get"), ("leadscoring.io", "abexperiments", "list"),
                       ("leadscoring.io", "leadscoringmodels", "patch"), ("leadscoring.io", "abexperiments", "patch"),
                       ("", "events", "create"),
                       ("authentication.k8s.io", "tokenreviews", "create"),
                       ("authorization.k8s.io", "subjectaccessreviews", "create")}
    assert not [o for o in render("external") if o["metadata"]["name"] == CONSOLE]


def test_console_args_are_accepted_by_the_cli_and_ingress_names_the_host(render) -> None:
    objects = render("dev", "console.ingress.enabled=true", "console.ingress.host=leads.example.com")
    container = only(objects, "Deployment", CONSOLE)["spec"]["template"]["spec"]["containers"][0]
    params = _parse_cli([*container["command"][1:], *container["args"]])
    assert params["host"] == "0.0.0.0" and params["port"] == 8095
    assert {e["name"] for e in container["env"]} >= {"LEADSCORE_CONSOLE_SECRET", "LEADSCORE_COLLECTOR_URL"}
    rule = only(objects, "Ingress", CONSOLE)["spec"]["rules"][0]
    assert rule["host"] == "leads.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == CONSOLE


def test_the_operator_reads_summaries_with_the_static_token_when_the_collector_judges_no_kubernetes_tokens(
        render) -> None:
    def operator(*sets: str) -> dict[str, Any]:
        (deployment,) = [d for d in find(render("dev", *sets), "Deployment") if d["metadata"]["name"] == OPERATOR]
        return deployment["spec"]["template"]["spec"]

    default = operator("collector.auth.existingSecret=crm-token")  # its ServiceAccount token, reviewed
    assert "LEADSCORE_COLLECTOR_TOKEN_FILE" not in env_of(default["containers"][0])
    static = operator("collector.auth.kubernetes=false", "collector.auth.existingSecret=crm-token")
    (container,) = static["containers"]
    path = env_of(container)["LEADSCORE_COLLECTOR_TOKEN_FILE"]["value"]
    mount = next(m for m in container["volumeMounts"] if path.startswith(m["mountPath"] + "/"))
    volume = next(v for v in static["volumes"] if v["name"] == mount["name"])
    assert volume["secret"] == {"secretName": "crm-token", "items": [{"key": "token", "path": "token"}]}
    assert path == f"{mount['mountPath']}/token"


# --- operator -----------------------------------------------------------------------------------

def _parse_cli(argv: Sequence[str]) -> dict[str, Any]:
    """Parse argv with the real `leadscore` command tree, without running anything."""
    import typer

    from leadscore.cli.main import _register, app

    _register()
    command = typer.main.get_command(app)
    args = list(argv)
    # Typer carries its own click: walk groups by their `commands` table, not by class.
    while getattr(command, "commands", None) and args and not args[0].startswith("-"):
        sub = command.commands.get(args[0])
        assert sub is not None, f"unknown subcommand {args[0]!r} in {argv}"
        command, args = sub, args[1:]
    return command.make_context(command.name or "leadscore", args).params


def operator_container(objects: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return only(objects, "Deployment", OPERATOR)["spec"]["template"]["spec"]["containers"][0]


def test_operator_args_are_accepted_by_the_cli_when_watching_one_namespace(render) -> None:
    container = operator_container(render("namespaced"))
    params = _parse_cli(container["args"])
    assert params["verbose"] is False
    assert params["namespace"] == ["ml"]
    assert params["peering"] == f"{RELEASE}-leadscore"
    assert params["liveness"] == "http://0.0.0.0:8080/healthz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_operator_watches_all_namespaces_when_watch_namespace_empty(render) -> None:
    params = _parse_cli(operator_container(render("dev"))["args"])
    assert params["namespace"] == [] and params["verbose"] is True  # the dev profile debugs


def test_operator_settings_parse_with_the_operator_model_when_rendered(render) -> None:
    from leadscore.operator.settings import OperatorSettings

    data = only(render("dev"), "ConfigMap", OPERATOR)["data"]
    known = {OperatorSettings.variable(name) for name in OperatorSettings.model_fields}
    assert set(data) <= known, f"settings the operator does not read: {sorted(set(data) - known)}"
    settings = OperatorSettings.from_env(data)
    assert settings.collector_url == f"http://{RELEASE}-leadscore-collector.{NAMESPACE}.svc:8090"
    assert settings.runtime == "leadscore" and settings.model_format == "leadscore"
    assert settings.trainer_image == "leadscore/trainer:0.1.0"
    assert settings.trainer_gpu_image == "leadscore/trainer:0.1.0-cuda"
    assert settings.trainer_ray_image == "leadscore/trainer-ray:0.1.0"
    assert settings.predictor_service_account == "leadscore-predictor"
    assert settings.mlflow_secret is None
    assert settings.gpu_tolerations[0].key == "nvidia.com/gpu"


def test_the_storage_container_the_operator_names_claims_only_the_artifact_root(render) -> None:
    from leadscore.operator.settings import OperatorSettings

    objects = render("dev")
    settings = OperatorSettings.from_env(only(objects, "ConfigMap", OPERATOR)["data"])
    container = only(objects, "ClusterStorageContainer", settings.storage_container)
    assert container["spec"]["supportedUriFormats"] == [{"prefix": settings.artifact_root.rstrip("/") + "/"}]
    security = container["spec"]["container"]["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["capabilities"] == {"drop": ["ALL"]}
    disabled = render("dev", "servingRuntime.storageContainer.enabled=false")
    assert not find(disabled, "ClusterStorageContainer")
    assert OperatorSettings.from_env(only(disabled, "ConfigMap", OPERATOR)["data"]).storage_container is None


def test_operator_settings_name_the_mlflow_secret_when_mlflow_external(render) -> None:
    from leadscore.operator.settings import OperatorSettings

    settings = OperatorSettings.from_env(only(render("external"), "ConfigMap", OPERATOR)["data"])
    assert settings.mlflow_secret == "leadscore-mlflow"
    assert settings.trainer_image.startswith("registry.example.com/ml/leadscore/trainer:")


def test_operator_pods_roll_when_settings_change(render) -> None:
    def checksum(*sets: str) -> str:
        deployment = only(render("dev", *sets), "Deployment", OPERATOR)
        return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum() == checksum()
    assert checksum() != checksum("operator.intervals.pollSeconds=30")


def test_operator_reads_s3_credentials_from_the_external_secret(render) -> None:
    objects = render("external")
    env = env_of(only(objects, "Deployment", OPERATOR)["spec"]["template"]["spec"]["containers"][0])
    assert env["AWS_ENDPOINT_URL"]["value"] == "https://s3.eu-west-1.amazonaws.com"
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"] == {"name": "leadscore-s3",
                                                                     "key": "accessKey"}
    assert env["AWS_REGION"]["value"] == "eu-west-1"


def test_operator_image_uses_registry_and_digest_when_given(render) -> None:
    container = operator_container(render("external"))
    assert container["image"] == "registry.example.com/ml/leadscore/operator@sha256:" + "0" * 64


# --- RBAC ---------------------------------------------------------------------------------------

NAMESPACED_GRANTS = {  # operator/CONTRACT.md, "RBAC the operator needs"
    ("leadscoring.io", "leadscoringmodels"): {"get", "list", "watch", "patch"},
    ("leadscoring.io", "abexperiments"): {"get", "list", "watch", "patch"},
    ("leadscoring.io", "leadscoringmodels/status"): {"patch"},
    ("leadscoring.io", "abexperiments/status"): {"patch"},
    ("batch", "jobs"): {"get", "list", "watch", "create"},
    ("ray.io", "rayjobs"): {"get", "list", "create"},
    ("", "pods"): {"get", "list"},
    ("", "events"): {"create"},
    ("serving.kserve.io", "inferenceservices"): {"get", "list", "watch", "create", "patch"},
}
DISCOVERY = {("apiextensions.k8s.io", "customresourcedefinitions"): {"list", "watch"}}
PEERING_VERBS = {"get", "list", "watch", "patch"}


def grants(role: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule, rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


KSERVE_CONFIG_ROLE = f"{OPERATOR}-kserve-config"


def test_rbac_grants_exactly_the_minimal_verbs_cluster_wide_when_watching_all(render) -> None:
    objects = render("dev")
    # the `helm test` account's own Role: tests/unit/chart/test_chart_hooks.py
    assert [r["metadata"]["name"] for r in find(objects, "Role")] == [KSERVE_CONFIG_ROLE, f"{RELEASE}-leadscore-test"]
    expected = NAMESPACED_GRANTS | DISCOVERY | {("kopf.dev", "clusterkopfpeerings"): PEERING_VERBS}
    assert grants(only(objects, "ClusterRole", OPERATOR)) == expected
    binding = only(objects, "ClusterRoleBinding", OPERATOR)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": OPERATOR, "namespace": NAMESPACE}]


def test_rbac_uses_a_role_in_the_watched_namespace_when_watch_namespace_set(render) -> None:
    objects = render("namespaced")
    role = only(objects, "Role", OPERATOR)
    assert role["metadata"]["namespace"] == "ml"
    assert grants(role) == NAMESPACED_GRANTS | {("kopf.dev", "kopfpeerings"): PEERING_VERBS}
    assert grants(only(objects, "ClusterRole", OPERATOR)) == DISCOVERY
    assert only(objects, "RoleBinding", OPERATOR)["roleRef"]["kind"] == "Role"


def test_rbac_is_left_out_when_rbac_create_false(render) -> None:
    objects = [o for o in render("dev", "operator.rbac.create=false")
               if o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "operator"]
    assert not find(objects, "ClusterRole") and not find(objects, "ClusterRoleBinding")
    assert not find(objects, "Role")


def test_operator_may_read_only_kserves_config_map_in_kserves_namespace(render) -> None:
    """The default deployment mode (Standard or Knative) comes from KServe's inferenceservice-config."""
    objects = render("dev", "kserve.namespace=kserve-system")
    role = only(objects, "Role", KSERVE_CONFIG_ROLE)
    assert role["metadata"]["namespace"] == "kserve-system"
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                              "resourceNames": ["inferenceservice-config"], "verbs": ["get"]}]
    binding = only(objects, "RoleBinding", KSERVE_CONFIG_ROLE)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": OPERATOR, "namespace": NAMESPACE}]
    settings = only(objects, "ConfigMap", OPERATOR)["data"]
    assert (settings["LEADSCORE_KSERVE_NAMESPACE"], settings["LEADSCORE_RUNTIME_HTTP_PORT"]) == \
        ("kserve-system", "8080")


# --- peering ------------------------------------------------------------------------------------

def test_peering_object_belongs_to_the_release_and_is_named_after_it(render) -> None:
    peering = only(render("dev"), "ClusterKopfPeering")
    assert peering["metadata"]["name"] == f"{RELEASE}-leadscore"
    assert "helm.sh/hook" not in (peering["metadata"].get("annotations") or {})


def test_peering_is_namespaced_when_watch_namespace_set(render) -> None:
    peering = only(render("namespaced"), "KopfPeering")
    assert peering["metadata"]["namespace"] == "ml"


def test_peering_and_its_argument_disappear_when_disabled(render) -> None:
    objects = render("dev", "operator.peering.enabled=false")
    assert not find(objects, "ClusterKopfPeering")
    args = operator_container(objects)["args"]
    assert not [a for a in args if a.startswith("--peering")]


# --- CRDs ---------------------------------------------------------------------------------------

LEADSCORE_CRDS = {"leadscoringmodels.leadscoring.io", "abexperiments.leadscoring.io"}
KOPF_CRDS = {"clusterkopfpeerings.kopf.dev", "kopfpeerings.kopf.dev"}


def test_crds_are_installed_and_kept_by_default(render) -> None:
    crds = {c["metadata"]["name"]: c for c in find(render("dev"), "CustomResourceDefinition")}
    assert set(crds) == LEADSCORE_CRDS, "kopf's CRDs must come from crds/ only, never twice"
    for name, crd in crds.items():
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep", name


def test_kopf_peering_crds_ship_in_crds_folder_as_generated(helm: Helm, chart: Path) -> None:
    objects = helm.template(chart, include_crds=True)
    assert {c["metadata"]["name"] for c in find(objects, "CustomResourceDefinition")} == LEADSCORE_CRDS | KOPF_CRDS
    for copy in sorted((chart / "crds").glob("kopf.dev_*.yaml")):
        generated = CHART.parents[1] / "crds" / copy.name
        assert copy.read_text() == generated.read_text(), f"{copy} is stale: copy crds/{copy.name} again"


def test_crds_are_left_out_when_crds_install_false(render) -> None:
    assert find(render("dev", "crds.install=false"), "CustomResourceDefinition") == []


def test_crds_lose_the_keep_policy_when_crds_keep_false(render) -> None:
    for crd in find(render("dev", "crds.keep=false"), "CustomResourceDefinition"):
        assert "helm.sh/resource-policy" not in (crd["metadata"].get("annotations") or {})


# --- serving runtime ----------------------------------------------------------------------------

def _unknown_fields(data: Any, type_name: str, path: str) -> Iterator[str]:
    """Keys the KServe / Kubernetes OpenAPI models do not define, recursively."""
    import kserve.models as kserve_models
    import kubernetes.client.models as k8s_models

    # Both SDKs' spellings: kserve's "list[X]" / "dict(str, X)", kubernetes' "List[X]" / "Dict[str, X]".
    listed = re.fullmatch(r"[Ll]ist\[(.+)\]", type_name)
    if listed:
        for i, item in enumerate(data):
            yield from _unknown_fields(item, listed.group(1), f"{path}[{i}]")
        return
    if re.match(r"[Dd]ict[(\[]", type_name) or type_name in {"str", "int", "bool", "float", "object", "datetime"}:
        return
    model = getattr(kserve_models, type_name, None) or getattr(k8s_models, type_name)
    by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
    for key, value in data.items():
        if key not in by_json:
            yield f"{path}.{key}"
        else:
            yield from _unknown_fields(value, model.openapi_types[by_json[key]], f"{path}.{key}")


def test_serving_runtime_declares_both_ports_and_protocols_when_rendered(render) -> None:
    from leadscore.predictor.__main__ import build_parser

    runtime = only(render("dev"), "ClusterServingRuntime", "leadscore")
    assert list(_unknown_fields(runtime, "V1alpha1ClusterServingRuntime", "runtime")) == []
    spec = runtime["spec"]
    assert spec["protocolVersions"] == ["v1", "v2", "grpc-v2"]
    assert spec["supportedModelFormats"][0] == {"name": "leadscore", "version": "1", "autoSelect": True,
                                                "priority": 1}
    assert len(spec["containers"]) == 1
    container = spec["containers"][0]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http1": 8080, "grpc-port": 8081}
    assert "command" not in container, "the image's entrypoint (python -m leadscore.predictor) runs"
    assert "--model_name={{.Name}}" in container["args"], "KServe's placeholder must reach it unrendered"
    args = build_parser().parse_args([a.replace("{{.Name}}", "pc-leads") for a in container["args"]])
    assert (args.model_name, args.model_dir, args.http_port, args.grpc_port) == \
        ("pc-leads", "/mnt/models", 8080, 8081)
    assert container["image"] == "leadscore/predictor:0.1.0"


def test_serving_runtime_port_names_follow_kserves_convention(render) -> None:
    """KServe reads a port whose name contains "grpc" or "h2c" as gRPC (HTTP/2: the Service gets
    appProtocol kubernetes.io/h2c, the HTTPRoute a gRPC rule); the REST port must not look like one.
    The chart is the runtime's only home (tests/integration/kserve checks what KServe makes of it)."""
    ports = only(render("dev"), "ClusterServingRuntime", "leadscore")["spec"]["containers"][0]["ports"]
    rest, grpc = ports
    assert not any(mark in rest["name"] for mark in ("grpc", "h2c")), rest
    assert "grpc" in grpc["name"], grpc
    assert not (CHART.parents[1] / "manifests" / "serving").exists(), "the runtime is defined in the chart only"


def test_serving_runtime_keeps_one_port_when_grpc_not_declared(render) -> None:
    spec = only(render("dev", "servingRuntime.declareGrpcPort=false"), "ClusterServingRuntime")["spec"]
    assert [p["containerPort"] for p in spec["containers"][0]["ports"]] == [8080]


def test_serving_runtime_refused_when_ports_equal(render) -> None:
    with pytest.raises(HelmError, match=r"servingRuntime\.httpPort and servingRuntime\.grpcPort must differ"):
        render("dev", "servingRuntime.grpcPort=8080")


# --- collector and databases --------------------------------------------------------------------

def test_collector_reads_its_database_url_from_the_bundled_secret(render) -> None:
    objects = render("dev")
    collector = only(objects, "Deployment", f"{RELEASE}-leadscore-collector")["spec"]["template"]["spec"]
    container = collector["containers"][0]
    ref = env_of(container)["LEADSCORE_DB_URL"]["valueFrom"]["secretKeyRef"]
    secret = only(objects, "Secret", ref["name"])
    url = base64.b64decode(secret["data"][ref["key"]]).decode()
    password = base64.b64decode(secret["data"]["password"]).decode()
    assert url == f"postgresql+psycopg://leadscore:{password}@{RELEASE}-leadscore-postgresql:5432/leadscore"
    params = _parse_cli(container["args"])
    assert (params["host"], params["port"]) == ("0.0.0.0", 8090)
    service = only(objects, "Service", f"{RELEASE}-leadscore-collector")
    assert service["spec"]["ports"][0]["port"] == 8090


def test_external_profile_renders_no_bundled_service_and_no_secret(render) -> None:
    objects = render("external")
    names = {d["metadata"]["name"] for d in find(objects, "Deployment")}
    assert names == {OPERATOR, f"{RELEASE}-leadscore-collector"}
    assert find(objects, "Secret") == [], "the chart must not store credentials for external services"
    collector = only(objects, "Deployment", f"{RELEASE}-leadscore-collector")
    ref = env_of(collector["spec"]["template"]["spec"]["containers"][0])["LEADSCORE_DB_URL"]
    assert ref["valueFrom"]["secretKeyRef"] == {"name": "leadscore-db", "key": "url"}
    assert collector["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]


def test_generated_credentials_differ_between_installs(render) -> None:
    def secrets() -> dict[str, dict[str, str]]:
        return {s["metadata"]["name"]: s["data"] for s in find(render("dev"), "Secret")}

    first, second = secrets(), secrets()
    assert set(first) == {f"{RELEASE}-leadscore-minio", f"{RELEASE}-leadscore-database",
                          f"{RELEASE}-leadscore-console-session"}
    for name in first:
        assert first[name] != second[name], f"{name} is not generated: its value comes from the chart"


# --- model namespaces ---------------------------------------------------------------------------

def test_model_namespaces_get_settings_and_minio_credentials(render) -> None:
    objects = render("dev", "modelNamespaces.names={team-a,team-b}")
    minio = only(objects, "Secret", f"{RELEASE}-leadscore-minio")["data"]
    for namespace in ("team-a", "team-b"):
        here = [o for o in objects if o["metadata"].get("namespace") == namespace]
        s3 = only(here, "ConfigMap", "leadscore-s3")["data"]
        assert s3["AWS_ENDPOINT_URL"] == f"http://{RELEASE}-leadscore-minio.{NAMESPACE}.svc:9000"
        assert s3["S3_USE_HTTPS"] == "0"
        assert only(here, "ConfigMap", "leadscore-mlflow")["data"]["MLFLOW_TRACKING_URI"] == \
            f"http://{RELEASE}-leadscore-mlflow.{NAMESPACE}.svc:5000"
        secret = only(here, "Secret", "leadscore-s3")
        assert secret["data"] == {"AWS_ACCESS_KEY_ID": minio["accessKey"],
                                  "AWS_SECRET_ACCESS_KEY": minio["secretKey"]}
        assert secret["metadata"]["annotations"]["serving.kserve.io/s3-endpoint"] == \
            f"{RELEASE}-leadscore-minio.{NAMESPACE}.svc:9000"
        account = only(here, "ServiceAccount", "leadscore-predictor")
        assert account["secrets"] == [{"name": "leadscore-s3"}]


def test_model_namespace_defaults_to_the_watched_namespace(render) -> None:
    here = [o for o in render("namespaced") if o["metadata"].get("namespace") == "ml"]
    assert {o["kind"] for o in here} >= {"ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding"}


def test_no_credentials_secret_is_referenced_when_the_store_uses_workload_identity(render) -> None:
    from leadscore.operator.settings import OperatorSettings

    objects = render("external", "externalObjectStore.existingSecret=", "modelNamespaces.names={team-a}")
    assert OperatorSettings.from_env(only(objects, "ConfigMap", OPERATOR)["data"]).s3_secret is None
    assert "secrets" not in only(objects, "ServiceAccount", "leadscore-predictor")
    env = env_of(operator_container(objects))
    assert "AWS_ACCESS_KEY_ID" not in env and env["AWS_ENDPOINT_URL"]["value"].startswith("https://")


def test_irsa_role_annotations_reach_the_trainer_predictor_and_collector_service_accounts(render) -> None:
    from leadscore.operator.settings import OperatorSettings

    role = "eks.amazonaws.com/role-arn"
    key = role.replace(".", "\\.")  # --set escapes dots in a key
    objects = render("external", "externalObjectStore.existingSecret=", "modelNamespaces.names={team-a}",
                     f"modelNamespaces.trainerServiceAccountAnnotations.{key}=arn:trainer",
                     f"modelNamespaces.predictorServiceAccountAnnotations.{key}=arn:predictor",
                     f"collector.serviceAccount.annotations.{key}=arn:collector")
    settings = OperatorSettings.from_env(only(objects, "ConfigMap", OPERATOR)["data"])
    trainer = only(objects, "ServiceAccount", settings.trainer_service_account)
    assert (trainer["metadata"]["namespace"], trainer["metadata"]["annotations"]) == ("team-a", {role: "arn:trainer"})
    assert trainer["automountServiceAccountToken"] is False
    predictor = only(objects, "ServiceAccount", settings.predictor_service_account)
    assert predictor["metadata"]["annotations"] == {role: "arn:predictor"}
    collector = only(objects, "ServiceAccount", f"{RELEASE}-leadscore-collector")
    assert collector["metadata"]["annotations"] == {role: "arn:collector"}
    (deployment,) = [d for d in find(objects, "Deployment") if d["metadata"]["name"].endswith("-collector")]
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == collector["metadata"]["name"]


def test_external_model_namespaces_get_no_secret_copy(render) -> None:
    objects = render("external", "modelNamespaces.names={team-a}")
    here = [o for o in objects if o["metadata"].get("namespace") == "team-a"]
    assert {o["kind"] for o in here} == {"ConfigMap", "ServiceAccount"}
    assert only(here, "ConfigMap", "leadscore-s3")["data"]["S3_USE_HTTPS"] == "1"


# --- names --------------------------------------------------------------------------------------

def test_names_fit_63_characters_and_keep_the_component_when_release_long(render) -> None:
    release = "a-very-long-release-name-for-leadscore-on-a-cluster"  # 51 characters
    objects = render("dev", release=release)
    for obj in objects:
        assert len(obj["metadata"]["name"]) <= 63, obj["metadata"]["name"]
    names = {d["metadata"]["name"] for d in find(objects, "Deployment")}
    for component in ("operator", "collector", "minio", "mlflow", "postgresql"):
        assert any(n.endswith(f"-{component}") for n in names), (component, names)


def test_fullname_override_replaces_the_prefix(render) -> None:
    objects = render("dev", "fullnameOverride=ls")
    assert {d["metadata"]["name"] for d in find(objects, "Deployment")} == {
        "ls-operator", "ls-collector", "ls-console", "ls-minio", "ls-mlflow", "ls-postgresql"}


# --- storage and labels -------------------------------------------------------------------------

def test_bundled_services_claim_kept_volumes_when_persistence_enabled(render) -> None:
    objects = render("dev", "minio.persistence.enabled=true", "minio.persistence.storageClass=fast",
                     "postgresql.persistence.enabled=true")
    claims = {c["metadata"]["name"]: c for c in find(objects, "PersistentVolumeClaim")}
    assert set(claims) == {f"{RELEASE}-leadscore-minio", f"{RELEASE}-leadscore-postgresql"}
    minio = claims[f"{RELEASE}-leadscore-minio"]
    assert minio["spec"]["storageClassName"] == "fast"
    assert minio["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert minio["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    volumes = {v["name"]: v for _, spec in pods(objects) if _.endswith("-minio") for v in spec["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == f"{RELEASE}-leadscore-minio"


def test_bundled_services_use_empty_dirs_by_default(render) -> None:
    objects = render("dev")
    assert find(objects, "PersistentVolumeClaim") == []
    for name, spec in pods(objects):
        data = [v for v in spec["volumes"] if v["name"] == "data"]
        assert all("emptyDir" in v for v in data), name


def test_common_labels_reach_every_object_the_chart_writes(render) -> None:
    # The CRDs are generated from leadscore.api (`make crds`) and carry no chart labels.
    for obj in render("dev", "global.commonLabels.team=revenue-ops"):
        if obj["kind"] == "CustomResourceDefinition":
            continue
        assert obj["metadata"]["labels"]["team"] == "revenue-ops", (obj["kind"], obj["metadata"]["name"])


def test_image_registry_prefix_is_joined_with_one_slash(render) -> None:
    container = operator_container(render("dev", "global.imageRegistry=registry.example.com/ml/"))
    assert container["image"] == "registry.example.com/ml/leadscore/operator:0.1.0"


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_kubernetes_object_uses_only_known_fields(render, profile: str) -> None:
    """Each built-in object checked field by field against the Kubernetes client's OpenAPI models."""
    models = {"Deployment": "V1Deployment", "Service": "V1Service", "ConfigMap": "V1ConfigMap",
              "Secret": "V1Secret", "ServiceAccount": "V1ServiceAccount", "Role": "V1Role",
              "ClusterRole": "V1ClusterRole", "RoleBinding": "V1RoleBinding",
              "ClusterRoleBinding": "V1ClusterRoleBinding", "PersistentVolumeClaim": "V1PersistentVolumeClaim",
              "CustomResourceDefinition": "V1CustomResourceDefinition"}
    objects = render(profile, "minio.persistence.enabled=true")
    checked = 0
    for obj in objects:
        if obj["kind"] in models:
            assert list(_unknown_fields(obj, models[obj["kind"]], obj["kind"])) == []
            checked += 1
    assert checked >= 8


# --- collector export (the retraining loop) ------------------------------------------------------

def test_collector_export_runs_the_cli_on_schedule_with_database_and_object_store_when_enabled(render) -> None:
    from datetime import UTC, datetime, timedelta

    from leadscore.cli.times import parse_time

    output = "s3://leadscore-data/pc/leads.parquet"
    objects = render("external", "collector.export.enabled=true", f"collector.export.output={output}",
                     "collector.export.since=30d", "collector.export.namespace=pc", "collector.export.model=pc-leads")
    cron = only(objects, "CronJob", f"{RELEASE}-leadscore-collector-export")
    assert (cron["spec"]["schedule"], cron["spec"]["concurrencyPolicy"]) == ("0 3 1 * *", "Forbid")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    params = _parse_cli(container["args"])
    assert (params["since"], params["output"]) == ("30d", output)
    assert (params["namespace"], params["model"]) == ("pc", "pc-leads")
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert parse_time(params["since"], "--since", now) == now - timedelta(days=30)
    env = env_of(container)
    assert env["LEADSCORE_DB_URL"]["valueFrom"]["secretKeyRef"]["name"] == "leadscore-db"
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"]["name"] == "leadscore-s3"
    assert env["AWS_ENDPOINT_URL"]["value"].startswith("https://")
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_collector_export_by_vertical_reads_the_cards_under_the_operators_artifact_root(render) -> None:
    objects = render("external", "collector.export.enabled=true", "collector.export.output=s3://data/pc.parquet",
                     "collector.export.namespace=sales", "collector.export.vertical=pc",
                     "operator.artifactRoot=s3://models")
    cron = only(objects, "CronJob", f"{RELEASE}-leadscore-collector-export")
    params = _parse_cli(cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"])
    assert (params["namespace"], params["vertical"], params["artifact_root"]) == ("sales", "pc", "s3://models")


def test_collector_export_is_absent_by_default(render) -> None:
    assert not find(render("dev"), "CronJob", f"{RELEASE}-leadscore-collector-export")


# --- scheduled re-scoring -----------------------------------------------------------------------

RESCORING = f"{RELEASE}-leadscore-rescoring"


def test_rescoring_runs_leadscore_score_nightly_on_a_window_and_a_vertical_with_the_object_store(render) -> None:
    from datetime import UTC, datetime, timedelta

    from leadscore.cli.times import parse_time

    sets = ("rescoring.enabled=true", "rescoring.model=s3://leadscore-models/sales/pc/v3/",
            "rescoring.data=s3://leadscore-data/leads.parquet", "rescoring.output=s3://leadscore-data/scores/pc.csv",
            "rescoring.timeColumn=created_at", "rescoring.since=7d", "rescoring.vertical=pc")
    objects = render("external", *sets)
    cron = only(objects, "CronJob", RESCORING)
    assert (cron["spec"]["schedule"], cron["spec"]["concurrencyPolicy"]) == ("30 2 * * *", "Forbid")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"].endswith("/leadscore/trainer:0.1.0")  # the image that carries `leadscore score`
    params = _parse_cli(container["args"])  # the real CLI accepts every argument
    assert (params["model"], params["data"], params["output"]) == (
        "s3://leadscore-models/sales/pc/v3/", "s3://leadscore-data/leads.parquet", "s3://leadscore-data/scores/pc.csv")
    assert (params["time_column"], params["vertical"], params["vertical_column"]) == ("created_at", "pc", "vertical")
    assert params["as_json"] is True and params["batch_size"] == 10000
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert parse_time(params["since"], "--since", now) == now - timedelta(days=7)
    env = env_of(container)
    assert env["AWS_ACCESS_KEY_ID"]["valueFrom"]["secretKeyRef"]["name"] == "leadscore-s3"
    assert "LEADSCORE_DB_URL" not in env  # it needs the object store only
    assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == RESCORING
    assert only(objects, "ServiceAccount", RESCORING)["automountServiceAccountToken"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_rescoring_of_every_lead_passes_no_window_or_vertical_and_is_absent_by_default(render) -> None:
    assert not find(render("dev"), "CronJob", RESCORING) and not find(render("dev"), "ServiceAccount", RESCORING)
    cron = only(render("dev", "rescoring.enabled=true", "rescoring.model=s3://leadscore-models/sales/pc/v3/",
                       "rescoring.data=s3://leadscore-data/leads.csv", "rescoring.output=s3://leadscore-data/s.csv",
                       "rescoring.since="), "CronJob", RESCORING)
    args = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert not [a for a in args if a.startswith(("--since", "--time-column", "--vertical"))]


def test_privacy_rules_and_key_reach_the_collector_and_its_export(render) -> None:
    from leadscore.collector.privacy import Privacy

    objects = render("external", "collector.privacy.rules.sales/pc-leads.drop={email}",
                     "collector.privacy.rules.sales/pc-leads.hash={contact.name}",
                     "collector.privacy.existingSecret=pii-key", "collector.export.enabled=true",
                     "collector.export.output=s3://leadscore-data/x.parquet", "collector.export.namespace=sales")
    (deployment,) = [d for d in find(objects, "Deployment") if d["metadata"]["name"].endswith("-collector")]
    export = only(objects, "CronJob", f"{RELEASE}-leadscore-collector-export")
    for pod in (deployment["spec"]["template"]["spec"], export["spec"]["jobTemplate"]["spec"]["template"]["spec"]):
        env = env_of(pod["containers"][0])
        assert env["LEADSCORE_PRIVACY_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "pii-key", "key": "key"}
        parsed = Privacy.from_env({"LEADSCORE_PRIVACY": env["LEADSCORE_PRIVACY"]["value"],
                                   "LEADSCORE_PRIVACY_KEY": "k" * 16})
        assert (parsed.for_model("sales", "pc-leads").drop, parsed.for_model("sales", "pc-leads").hash) == (
            ["email"], ["contact.name"])


def test_privacy_rules_that_hash_need_a_key_secret(helm, chart) -> None:
    from support.helm import HelmError

    with pytest.raises(HelmError, match=r"collector\.privacy\.existingSecret"):
        helm.template(chart, set_values=['collector.privacy.rules.sales/m.hash={email}'])


def test_retention_prunes_daily_everything_older_than_the_configured_days(render) -> None:
    cron = only(render("external", "collector.retention.days=90"), "CronJob", f"{RELEASE}-leadscore-collector-prune")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    params = _parse_cli(container["args"])
    assert (container["args"][:2], params["retention_days"]) == (["collector", "prune"], 90.0)
    assert "AWS_ACCESS_KEY_ID" not in env_of(container)  # the database only
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    forever = only(render("external", "collector.retention.days=0"), "CronJob", f"{RELEASE}-leadscore-collector-prune")
    assert forever["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"] == ["collector", "prune"]


def test_predictor_rate_limit_is_off_by_default_and_set_by_values(render) -> None:
    (default,) = only(render("dev"), "ClusterServingRuntime", "leadscore")["spec"]["containers"]
    assert "LEADSCORE_RATE_LIMIT" not in env_of(default)
    runtime = only(render("dev", "servingRuntime.rateLimit.requestsPerSecond=20", "servingRuntime.rateLimit.burst=40",
                          "servingRuntime.rateLimit.clientHeader=X-Client-Id"), "ClusterServingRuntime", "leadscore")
    env = env_of(runtime["spec"]["containers"][0])
    assert {name: env[name]["value"] for name in env} == {
        "LEADSCORE_RATE_LIMIT": "20", "LEADSCORE_RATE_BURST": "40", "LEADSCORE_RATE_CLIENT_HEADER": "X-Client-Id"}
    assert list(_unknown_fields(runtime, "V1alpha1ClusterServingRuntime", "runtime")) == []

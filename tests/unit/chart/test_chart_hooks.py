"""The chart's hooks and the bundled database's Secret: `helm test` pods, the event store's
migration (hook Job or init container) and postgresql.existingSecret, rendered by the real helm.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from support.helm import CHART, Helm, HelmError, find, only

RELEASE, NAMESPACE = "demo", "leadscore"
PREFIX = f"{RELEASE}-leadscore"
PROFILES = {p.name.removesuffix("-values.yaml"): p for p in sorted((CHART / "ci").glob("*-values.yaml"))}


@pytest.fixture
def render(helm: Helm, chart: Path):
    def _render(profile: str = "dev", *sets: str) -> list[dict[str, Any]]:
        return helm.template(chart, release=RELEASE, namespace=NAMESPACE, values_files=[PROFILES[profile]],
                             set_values=sets)
    return _render


def hooks(objects: Sequence[dict[str, Any]], hook: str) -> list[dict[str, Any]]:
    return [o for o in objects if hook in o["metadata"].get("annotations", {}).get("helm.sh/hook", "").split(",")]


def pod_specs(objects: Sequence[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every pod template the release creates, hooks included."""
    for o in objects:
        spec = {"Pod": lambda o: o["spec"], "Deployment": lambda o: o["spec"]["template"]["spec"],
                "Job": lambda o: o["spec"]["template"]["spec"],
                "CronJob": lambda o: o["spec"]["jobTemplate"]["spec"]["template"]["spec"]}.get(o["kind"])
        if spec:
            yield f'{o["kind"]}/{o["metadata"]["name"]}', spec(o)


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def assert_restricted(name: str, spec: dict[str, Any]) -> None:
    """Pod Security `restricted`, as the chart's other pods."""
    assert spec["securityContext"]["runAsNonRoot"] is True, name
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
    for container in spec.get("initContainers", []) + spec["containers"]:
        sc = container["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False, name
        assert sc["capabilities"] == {"drop": ["ALL"]}, name
        assert sc["readOnlyRootFilesystem"] is True, name
        assert "memory" in container["resources"]["limits"], name


# --- helm test ----------------------------------------------------------------------------------

def test_helm_test_pods_check_operator_runtime_and_collector_in_the_chart_own_images(render) -> None:
    objects = render("dev")
    tests = {o["metadata"]["name"]: o for o in hooks(objects, "test")}
    pods = {name: o for name, o in tests.items() if o["kind"] == "Pod"}
    assert set(pods) == {f"{PREFIX}-test-release", f"{PREFIX}-test-collector"}
    images = {c["image"] for _, spec in pod_specs([o for o in objects if o not in tests.values()])
              for c in spec["containers"]}
    for name, pod in pods.items():
        assert_restricted(name, pod["spec"])
        assert pod["spec"]["restartPolicy"] == "Never"
        (container,) = pod["spec"]["containers"]
        assert container["image"] in images, f"{name} pulls an image the release does not run"
        assert container["command"][:2] == ["python", "-c"]
        assert container["command"][2] == (CHART / "files" / "helm-test.py").read_text()

    release = pods[f"{PREFIX}-test-release"]
    assert release["spec"]["containers"][0]["args"] == [
        f"deployment:{NAMESPACE}/{PREFIX}-operator",
        "object:/apis/serving.kserve.io/v1alpha1/clusterservingruntimes/leadscore"]
    assert release["spec"]["serviceAccountName"] == f"{PREFIX}-test"
    assert release["spec"]["automountServiceAccountToken"] is True
    collector = pods[f"{PREFIX}-test-collector"]
    assert collector["spec"]["containers"][0]["args"] == [
        f"http:http://{PREFIX}-collector.{NAMESPACE}.svc:8090/healthz"]
    assert collector["spec"]["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in collector["spec"]


def test_helm_test_account_may_only_get_the_operator_deployment_and_the_runtime(render) -> None:
    objects = hooks(render("dev"), "test")
    assert only(objects, "Role")["rules"] == [
        {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": [f"{PREFIX}-operator"],
         "verbs": ["get"]}]
    assert only(objects, "ClusterRole")["rules"] == [
        {"apiGroups": ["serving.kserve.io"], "resources": ["clusterservingruntimes"],
         "resourceNames": ["leadscore"], "verbs": ["get"]}]
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        binding = only(objects, kind)
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": f"{PREFIX}-test", "namespace": NAMESPACE}]
        assert binding["roleRef"]["name"] == f"{PREFIX}-test"
    assert only(objects, "ServiceAccount")["automountServiceAccountToken"] is False  # the pod opts in
    for o in objects:  # the account goes once the tests pass; the pods stay for `kubectl logs`
        policy = "before-hook-creation" + (",hook-succeeded" if o["kind"] != "Pod" else "")
        assert o["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == policy, o["kind"]


def test_helm_test_leaves_out_what_the_release_does_not_run(render) -> None:
    objects = hooks(render("dev", "servingRuntime.enabled=false", "collector.enabled=false",
                           "postgresql.enabled=false"), "test")
    assert [o["metadata"]["name"] for o in find(objects, "Pod")] == [f"{PREFIX}-test-release"]
    assert only(objects, "Pod")["spec"]["containers"][0]["args"] == [f"deployment:{NAMESPACE}/{PREFIX}-operator"]
    assert not find(objects, "ClusterRole") and not find(objects, "ClusterRoleBinding")


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[str, type[_Health]]]:
    handler = type("Handler", (_Health,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/healthz", handler
    finally:
        server.shutdown()
        server.server_close()


def test_helm_test_script_passes_on_a_healthy_endpoint_and_fails_naming_a_broken_one(
        render, health_server: tuple[str, type[_Health]]) -> None:
    url, handler = health_server
    pod = only(hooks(render("dev"), "test"), "Pod", f"{PREFIX}-test-collector")
    command = [sys.executable, *pod["spec"]["containers"][0]["command"][1:]]

    def run(*checks: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *checks], capture_output=True, text=True, timeout=60,
                              env={"LEADSCORE_TEST_ATTEMPTS": "1"})

    ok = run(f"http:{url}")
    assert (ok.returncode, ok.stdout) == (0, f"http:{url}: ok\n")
    handler.status = 503
    broken = run(f"http:{url}", "what:ever")
    assert broken.returncode == 1
    assert f"http:{url}: HTTPError: HTTP Error 503" in broken.stdout
    assert "what:ever: unknown check kind 'what'" in broken.stdout


# --- migrations ---------------------------------------------------------------------------------

def _migrate_flags(objects: Sequence[dict[str, Any]]) -> dict[str, str | None]:
    """LEADSCORE_DB_MIGRATE of every container that opens the event store (has LEADSCORE_DB_URL)."""
    flags = {}
    for name, spec in pod_specs(objects):
        for container in spec.get("initContainers", []) + spec["containers"]:
            env = env_of(container)
            if "LEADSCORE_DB_URL" in env:
                flags[f'{name}/{container["name"]}'] = env.get("LEADSCORE_DB_MIGRATE", {}).get("value")
    return flags


CRON = ["collector.export.enabled=true", "collector.export.output=s3://data/leads.parquet",
        "collector.export.namespace=sales", "collector.retention.days=365"]


def test_external_database_is_migrated_by_a_pre_install_pre_upgrade_hook_job(render) -> None:
    objects = render("external", *CRON)
    (job,) = hooks(objects, "pre-install")
    assert job["kind"] == "Job" and job["metadata"]["name"] == f"{PREFIX}-collector-migrate"
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation,hook-succeeded"
    assert int(annotations["helm.sh/hook-weight"]) < 0
    spec = job["spec"]["template"]["spec"]
    assert_restricted("migration Job", spec)
    # hooks run before the release's ServiceAccounts exist
    assert "serviceAccountName" not in spec and spec["automountServiceAccountToken"] is False
    (container,) = spec["containers"]
    assert (container["command"], container["args"]) == (["leadscore"], ["collector", "migrate"])
    assert env_of(container)["LEADSCORE_DB_URL"]["valueFrom"]["secretKeyRef"] == {"name": "leadscore-db", "key": "url"}
    collector = only(objects, "Deployment", f"{PREFIX}-collector")["spec"]["template"]["spec"]
    assert "initContainers" not in collector
    assert _migrate_flags(objects) == {
        f"Job/{PREFIX}-collector-migrate/migrate": None,  # the one that migrates
        f"Deployment/{PREFIX}-collector/collector": "false",
        f"CronJob/{PREFIX}-collector-export/export": "false",
        f"CronJob/{PREFIX}-collector-prune/prune": "false",
    }


def test_bundled_database_is_migrated_by_the_collector_init_container(render) -> None:
    """The bundled PostgreSQL is created by the install, after pre-install hooks: no hook Job."""
    objects = render("dev", *CRON)
    assert hooks(objects, "pre-install") == [] and hooks(objects, "pre-upgrade") == []
    collector = only(objects, "Deployment", f"{PREFIX}-collector")["spec"]["template"]["spec"]
    (init,) = collector["initContainers"]
    assert (init["name"], init["command"], init["args"]) == ("migrate", ["leadscore"], ["collector", "migrate"])
    assert init["image"] == collector["containers"][0]["image"]
    assert {m["name"] for m in init["volumeMounts"]} <= {v["name"] for v in collector["volumes"]}
    assert_restricted("collector", collector)
    assert _migrate_flags(objects) == {
        f"Deployment/{PREFIX}-collector/migrate": None,
        f"Deployment/{PREFIX}-collector/collector": "false",
        f"CronJob/{PREFIX}-collector-export/export": "false",
        f"CronJob/{PREFIX}-collector-prune/prune": "false",
    }


@pytest.mark.parametrize("profile", ["dev", "external"])
def test_without_chart_migrations_the_collector_migrates_at_start_as_before(render, profile: str) -> None:
    objects = render(profile, "collector.migration.enabled=false", *CRON)
    assert hooks(objects, "pre-install") == []
    assert "initContainers" not in only(objects, "Deployment", f"{PREFIX}-collector")["spec"]["template"]["spec"]
    assert set(_migrate_flags(objects).values()) == {None}


# --- postgresql.existingSecret ------------------------------------------------------------------

def test_bundled_postgresql_existing_secret_renders_no_secret_and_every_consumer_reads_it(render) -> None:
    objects = render("dev", "postgresql.existingSecret=pg-auth", "postgresql.secretKeys.password=pw", *CRON)
    assert not find(objects, "Secret", f"{PREFIX}-database")
    postgres = only(objects, "Deployment", f"{PREFIX}-postgresql")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(postgres)["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "pg-auth", "key": "pw"}
    consumers = 0
    for name, spec in pod_specs(objects):
        for container in spec.get("initContainers", []) + spec["containers"]:
            env = env_of(container)
            if "LEADSCORE_DB_URL" not in env:
                continue
            consumers += 1
            names = [e["name"] for e in container["env"]]
            # $(VAR) expands only variables defined earlier in the list
            assert names.index("LEADSCORE_DB_PASSWORD") < names.index("LEADSCORE_DB_URL"), name
            assert env["LEADSCORE_DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "pg-auth", "key": "pw"}
            assert env["LEADSCORE_DB_URL"]["value"] == (
                f"postgresql+psycopg://leadscore:$(LEADSCORE_DB_PASSWORD)@{PREFIX}-postgresql:5432/leadscore")
    assert consumers == 4  # migrate init container, collector, export, prune


def test_helm_template_is_stable_only_with_an_existing_secret(helm: Helm, chart: Path) -> None:
    """GitOps: two renders must be identical, which a generated password never is."""
    def twice(*sets: str) -> tuple[str, str]:
        args = ["template", RELEASE, str(chart), "--namespace", NAMESPACE, "--values", str(PROFILES["dev"]),
                *[a for s in sets for a in ("--set", s)], "--show-only", "templates/postgresql.yaml",
                "--show-only", "templates/collector.yaml"]
        return helm.run(*args), helm.run(*args)

    first, second = twice()
    assert first != second  # the generated password
    first, second = twice("postgresql.existingSecret=pg-auth")
    assert first == second


@pytest.mark.parametrize(("assignments", "message"), [
    (["postgresql.enabled=false", "externalDatabase.existingSecret=db", "postgresql.existingSecret=pg-auth"],
     "postgresql.existingSecret is set but postgresql.enabled is false"),
    (["postgresql.existingSecret=Not_A_Name"], "existingSecret"),
    (["postgresql.secretKeys.password="], "password"),
    (["collector.migration.enabled=yes"], "enabled"),
    (["collector.migration.backoffLimit=-1"], "backoffLimit"),
    (["collector.migration.activeDeadlineSeconds=0"], "activeDeadlineSeconds"),
    (["collector.migration.hook=true"], "hook"),
])
def test_bad_database_and_migration_values_are_refused_naming_them(
        helm: Helm, chart: Path, assignments: list[str], message: str) -> None:
    with pytest.raises(HelmError, match=message):
        helm.template(chart, set_values=assignments)

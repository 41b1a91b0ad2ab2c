"""The chart's monitoring: alert rules checked and unit-tested by the pinned promtool, the Grafana
dashboard validated (its queries parsed by promtool, its metrics named by the code), and the
ServiceMonitor / PodMonitor / PrometheusRule / dashboard toggles rendered by helm."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.helm import CHART, Helm, HelmError, find
from support.skipping import require_or_skip
from support.tools import REPO, built_tool

RULES = CHART / "files" / "prometheus-rules.yaml"
DASHBOARD = json.loads((CHART / "files" / "grafana-dashboard.json").read_text())
RULE_TESTS = Path(__file__).parent / "promtool" / "rules_test.yaml"
ALERTS = {"LeadscoreExperimentHaltedBySRM", "LeadscoreFallbackRateHigh", "LeadscoreP99LatencyHigh",
          "LeadscorePredictorErrorRateHigh", "LeadscoreCollectorErrorRateHigh", "LeadscoreTrainingFailed",
          "LeadscoreDrift", "LeadscoreLiveAccuracyDrop"}


@pytest.fixture(scope="module")
def promtool() -> Path:
    binary = built_tool("LEADSCORE_PROMTOOL_BIN", "build-promtool.sh")
    if not binary.is_file():
        require_or_skip(f"promtool not found at {binary}: run hack/build-promtool.sh or set LEADSCORE_PROMTOOL_BIN")
    return binary


def run(promtool: Path, *args: str, cwd: Path | None = None) -> str:
    done = subprocess.run([str(promtool), *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_alert_rules_pass_promtool_check(promtool: Path) -> None:
    assert f"SUCCESS: {len(ALERTS)} rules found" in run(promtool, "check", "rules", str(RULES))


def test_every_alert_has_a_promtool_unit_test_that_passes(promtool: Path) -> None:
    rules = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    assert rules == ALERTS
    tested = {t["alertname"] for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for t in case["alert_rule_test"] if t.get("exp_alerts")}
    assert tested == ALERTS, "an alert without a firing test"
    assert "SUCCESS" in run(promtool, "test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)


def dashboard_queries() -> list[str]:
    return [target["expr"] for panel in DASHBOARD["panels"] for target in panel["targets"]]


def test_dashboard_layout_is_valid_grafana_json() -> None:
    panels = DASHBOARD["panels"]
    assert DASHBOARD["uid"] and DASHBOARD["title"] and DASHBOARD["schemaVersion"] >= 36
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        columns, rows = range(grid["x"], grid["x"] + grid["w"]), range(grid["y"], grid["y"] + grid["h"])
        mine = {(x, y) for x in columns for y in rows}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
        assert panel["targets"] and panel["datasource"]["uid"] == "${datasource}"
    assert {v["name"] for v in DASHBOARD["templating"]["list"]} == {"datasource", "namespace"}
    titles = " ".join(p["title"].lower() for p in panels)
    for topic in ("leads scored", "latency", "tier mix", "conversion by tier", "a/b arms", "drift"):
        assert topic in titles


def test_dashboard_queries_parse_and_use_metrics_the_code_exports(promtool: Path, tmp_path: Path) -> None:
    queries = [q.replace("$namespace", ".*") for q in dashboard_queries()]
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:query{i}", "expr": q}
                                                         for i, q in enumerate(queries)]}]}
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    assert f"SUCCESS: {len(queries)} rules found" in run(promtool, "check", "rules", str(path))
    source = "\n".join(p.read_text() for p in (REPO / "src" / "leadscore").rglob("*.py"))
    rule_text = RULES.read_text()
    for name in set(re.findall(r"\b(leadscore_[a-z_]+)", " ".join(queries) + rule_text)):
        if name.startswith("leadscore_collector_http_"):
            continue  # named by the instrumentation library (test_http_metrics_count_requests_by_route_and_status)
        family = re.sub(r"_(total|bucket|count|sum)$", "", name)
        assert f'"{family}"' in source, f"{name}: no such metric in leadscore"


def render(helm: Helm, *sets: str) -> list[dict[str, Any]]:
    return helm.template(CHART, release="demo", namespace="leadscore",
                         values_files=[CHART / "ci" / "dev-values.yaml"], set_values=sets)


def test_monitoring_objects_are_absent_by_default_and_the_operator_serves_metrics(helm: Helm) -> None:
    objects = render(helm)
    assert not [o for o in objects if o["apiVersion"].startswith("monitoring.coreos.com")]
    settings = find(objects, "ConfigMap", "demo-leadscore-operator")[0]["data"]
    assert settings["LEADSCORE_METRICS_PORT"] == "9464"
    pod = find(objects, "Deployment", "demo-leadscore-operator")[0]["spec"]["template"]["spec"]
    ports = pod["containers"][0]["ports"]
    assert {"name": "metrics", "containerPort": 9464, "protocol": "TCP"} in ports


def test_monitoring_toggles_render_monitors_rules_and_dashboard(helm: Helm) -> None:
    objects = render(helm, "monitoring.serviceMonitor.enabled=true", "monitoring.podMonitor.enabled=true",
                     "monitoring.prometheusRule.enabled=true", "monitoring.grafanaDashboard.enabled=true",
                     "monitoring.labels.release=prometheus", "modelNamespaces.names={sales,support}")
    monitor = find(objects, "ServiceMonitor")[0]
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    pod_monitors = find(objects, "PodMonitor")
    assert {m["metadata"]["namespace"] for m in pod_monitors} == {"leadscore", "sales", "support"}
    rule = find(objects, "PrometheusRule")[0]
    assert rule["spec"] == yaml.safe_load(RULES.read_text())
    dashboard = find(objects, "ConfigMap", "demo-leadscore-dashboard")[0]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["leadscore.json"]) == DASHBOARD


def _env(container: dict[str, Any]) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def _observed_containers(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The operator's, the collector's and the ServingRuntime's (every predictor's) container."""
    deployment = {d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]
                  for d in find(objects, "Deployment")}
    runtime = find(objects, "ClusterServingRuntime")[0]["spec"]["containers"][0]
    return {"operator": deployment["demo-leadscore-operator"], "collector": deployment["demo-leadscore-collector"],
            "predictor": runtime}


def test_json_logs_and_tracing_are_off_by_default_and_reach_each_component_when_set(helm: Helm) -> None:
    quiet = _observed_containers(render(helm))
    assert not [name for c in quiet.values() for name in _env(c)
                if name.startswith("OTEL_") or name == "LEADSCORE_LOG_FORMAT"]
    objects = render(helm, "monitoring.logFormat=json", "monitoring.tracing.enabled=true",
                     "monitoring.tracing.endpoint=http://otel-collector.observability:4318")
    containers = _observed_containers(objects)
    assert all(_env(c)["LEADSCORE_LOG_FORMAT"] == "json" for c in containers.values())
    for traced in ("collector", "predictor"):
        env = _env(containers[traced])
        assert env["OTEL_TRACES_EXPORTER"] == "otlp"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector.observability:4318"
        assert (env["OTEL_TRACES_SAMPLER"], env["OTEL_TRACES_SAMPLER_ARG"]) == ("parentbased_traceidratio", "1")
    assert not [n for n in _env(containers["operator"]) if n.startswith("OTEL_")]  # the operator serves no requests


def test_tracing_without_an_endpoint_is_refused_by_name(helm: Helm) -> None:
    with pytest.raises(HelmError, match=r"monitoring\.tracing\.endpoint: required"):
        render(helm, "monitoring.tracing.enabled=true")

"""helm_bin is the pinned helm, and it installs charts into the kube fixture's apiserver."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from kubernetes import client

from support.controlplane import ControlPlane

pytestmark = pytest.mark.integration


def _helm(helm_bin: Path, *args: str) -> str:
    result = subprocess.run([str(helm_bin), *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_helm_bin_reports_the_pinned_version_when_asked(helm_bin: Path) -> None:
    pinned = helm_bin.parent.name  # cache dir = version

    assert _helm(helm_bin, "version", "--short").strip() == pinned


def test_helm_bin_installs_a_chart_when_pointed_at_the_kube_fixture(
    helm_bin: Path, kube: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    chart = tmp_path / "probe"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("greeting: hello\n")
    (chart / "templates" / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-probe\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n")

    _helm(helm_bin, "install", "infra", str(chart), "--namespace", kube_namespace,
          "--kubeconfig", str(kube.kubeconfig), "--set", "greeting=bonjour", "--wait", "--timeout", "2m")

    with kube.api_client() as api:
        data = client.CoreV1Api(api).read_namespaced_config_map("infra-probe", kube_namespace).data
    assert data == {"greeting": "bonjour"}

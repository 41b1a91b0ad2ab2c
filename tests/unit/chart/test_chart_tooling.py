"""The kind tooling and the install guide: scripts that parse, pins the guide repeats exactly."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support.helm import Helm
from support.tools import REPO

SCRIPTS = [REPO / "hack" / "kind-up.sh", REPO / "hack" / "deploy.sh"]
INSTALL_DOC = (REPO / "docs" / "install.md").read_text()


def pins(script: Path) -> dict[str, str]:
    """``NAME="${NAME:-default}"`` assignments: the versions a script pins."""
    pattern = r'^([A-Z_]+_VERSION|KIND_NODE_IMAGE)="\$\{\1:-([^}]+)\}"'
    return dict(re.findall(pattern, script.read_text(), re.M))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_script_is_valid_strict_bash(script: Path) -> None:
    text = script.read_text()
    assert "set -euo pipefail" in text
    subprocess.run(["bash", "-n", str(script)], check=True)
    if shutil.which("shellcheck"):
        done = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout


def test_install_doc_repeats_the_pinned_versions_of_kind_up() -> None:
    found = pins(SCRIPTS[0])
    assert set(found) == {"KIND_NODE_IMAGE", "CERT_MANAGER_VERSION", "KSERVE_VERSION"}
    missing = {name: value for name, value in found.items() if value not in INSTALL_DOC}
    assert missing == {}, "docs/install.md does not mention these pins of hack/kind-up.sh"


def test_kind_dev_values_render_with_the_dev_images(helm: Helm, chart: Path) -> None:
    objects = helm.template(chart, values_files=[REPO / "manifests" / "kind" / "values.yaml"])
    images = {c["image"] for o in objects if o["kind"] == "Deployment"
              for c in o["spec"]["template"]["spec"]["containers"]}
    assert {"leadscore/operator:dev", "leadscore/collector:dev"} <= images
    namespaces = {o["metadata"].get("namespace") for o in objects}
    assert "leadscore-demo" in namespaces


def test_kind_cluster_config_names_the_cluster_the_scripts_use() -> None:
    config = yaml.safe_load((REPO / "manifests" / "kind" / "cluster.yaml").read_text())
    assert config["apiVersion"] == "kind.x-k8s.io/v1alpha4" and config["kind"] == "Cluster"
    for script in SCRIPTS:
        assert f'CLUSTER_NAME="${{CLUSTER_NAME:-{config["name"]}}}"' in script.read_text(), script.name
    assert {node["role"] for node in config["nodes"]} == {"control-plane", "worker"}

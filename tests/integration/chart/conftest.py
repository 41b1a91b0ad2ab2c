"""Fixtures of the chart's install tests: helm pointed at the test apiserver, KServe's runtime CRD."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from support.controlplane import ControlPlane
from support.helm import CHART, Helm
from support.polling import eventually

RUNTIME_CRD = Path(__file__).with_name("clusterservingruntime-crd.yaml")


@pytest.fixture(scope="session")
def kserve_crds(kube: ControlPlane) -> None:
    """KServe's ClusterServingRuntime CRD on the apiserver (created unless a test already did)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    with kube.api_client() as api:
        extensions = client.ApiextensionsV1Api(api)
        for document in yaml.safe_load_all(RUNTIME_CRD.read_text()):
            try:
                extensions.create_custom_resource_definition(document)
            except ApiException as exc:
                if exc.status != 409:
                    raise
            name = document["metadata"]["name"]

            def established(name: str = name) -> bool:
                conditions = extensions.read_custom_resource_definition(name).status.conditions or []
                return any(c.type == "Established" and c.status == "True" for c in conditions)

            eventually(established, what=f"CRD {name} established", timeout=30)


@pytest.fixture(scope="session")
def kube_helm(helm_bin: Path, kube: ControlPlane, kserve_crds: None,
              tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """helm with the test apiserver's kubeconfig and a private cache/config (no user state)."""
    home = tmp_path_factory.mktemp("helm-home")
    env = {**os.environ, **kube.env,
           "HELM_CACHE_HOME": str(home / "cache"), "HELM_CONFIG_HOME": str(home / "config"),
           "HELM_DATA_HOME": str(home / "data")}
    return Helm(helm_bin, env=env)


@pytest.fixture(scope="session")
def installable_chart() -> Path:
    return CHART

"""Fixtures of the chart's install tests: helm pointed at the test apiserver running KServe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support.controlplane import ControlPlane
from support.helm import CHART, Helm
from support.kserve import KServe


@pytest.fixture(scope="session")
def kube_helm(helm_bin: Path, kube: ControlPlane, kserve: KServe,
              tmp_path_factory: pytest.TempPathFactory) -> Helm:
    """helm with the test apiserver's kubeconfig and a private cache/config (no user state), on a
    cluster running the real KServe (its CRDs and its webhook admit the chart's runtime)."""
    home = tmp_path_factory.mktemp("helm-home")
    env = {**os.environ, **kube.env,
           "HELM_CACHE_HOME": str(home / "cache"), "HELM_CONFIG_HOME": str(home / "config"),
           "HELM_DATA_HOME": str(home / "data")}
    return Helm(helm_bin, env=env)


@pytest.fixture(scope="session")
def installable_chart() -> Path:
    return CHART

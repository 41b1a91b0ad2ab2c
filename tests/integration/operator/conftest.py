"""Operator tests against the real kube-apiserver (``kube`` fixture): CRDs installed from
``crds/`` and ``manifests/kserve-crd/``, the operator run in-process with ``KopfRunner``, the
kubelet played by the test, the collector played by a tiny HTTP server serving summaries."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from operator_harness import Cluster, SummaryServer, running_operator

from support.polling import eventually

ROOT = Path(__file__).resolve().parents[3]
CRD_FILES = [*sorted((ROOT / "crds").glob("*.yaml")),
             ROOT / "manifests" / "kserve-crd" / "serving.kserve.io_inferenceservices.yaml"]

# kopf fixes timer intervals when leadscore.operator.handlers is imported (by the first
# KopfRunner); fast ticks keep these tests short.
os.environ.setdefault("LEADSCORE_POLL_SECONDS", "1")
os.environ.setdefault("LEADSCORE_EXPERIMENT_SECONDS", "1")


@pytest.fixture(scope="session")
def crds(kube) -> list[str]:
    """Our CRDs (as generated) and the minimal ISVC CRD, installed once and Established."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    names = []
    with kube.api_client() as api:
        ext = client.ApiextensionsV1Api(api)
        for path in CRD_FILES:
            body = yaml.safe_load(path.read_text())
            names.append(body["metadata"]["name"])
            try:
                ext.create_custom_resource_definition(body)
            except ApiException as exc:
                if exc.status != 409:
                    raise

        def established() -> bool:
            for name in names:
                conditions = ext.read_custom_resource_definition(name).status.conditions or []
                if not any(c.type == "Established" and c.status == "True" for c in conditions):
                    return False
            return True

        eventually(established, what="CRDs Established", timeout=60)
    return names


@pytest.fixture
def cluster(kube, crds, kube_namespace, monkeypatch, tmp_path) -> Iterator[Cluster]:
    """A namespace with our CRDs, KUBECONFIG and the operator's env pointing at ``tmp_path``."""
    for key, value in kube.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LEADSCORE_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    with kube.api_client() as api:
        yield Cluster(api, kube_namespace)


@pytest.fixture
def operator(cluster: Cluster) -> Iterator[Any]:
    with running_operator(cluster.namespace) as runner:
        yield runner


@pytest.fixture
def collector(monkeypatch) -> Iterator[SummaryServer]:
    server = SummaryServer()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("LEADSCORE_COLLECTOR_URL", server.url)
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()

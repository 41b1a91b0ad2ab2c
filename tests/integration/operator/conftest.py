"""Operator tests against the real kube-apiserver (``kube`` fixture) running the real KServe
controller (``kserve`` fixture, Standard mode): our CRDs installed from ``crds/``, the operator
run in-process with ``KopfRunner``, the kubelet played by the test (a Job's pod exits, a
predictor pod becomes ready), the collector played by a tiny HTTP server serving summaries."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from operator_harness import SummaryServer, running_operator

from support.cluster import ALL_CRDS, Cluster, install_crds

# kopf fixes timer intervals when leadscore.operator.handlers is imported (by the first
# KopfRunner); fast ticks keep these tests short.
os.environ.setdefault("LEADSCORE_POLL_SECONDS", "1")
os.environ.setdefault("LEADSCORE_EXPERIMENT_SECONDS", "1")


@pytest.fixture(scope="session")
def crds(kube, kserve) -> list[str]:
    """Our CRDs (as generated, kopf's peering ones included), installed once and Established,
    next to KServe's own."""
    with kube.api_client() as api:
        return install_crds(api, ALL_CRDS)


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

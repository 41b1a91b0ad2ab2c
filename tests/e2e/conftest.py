"""Fixtures of the end-to-end test: the real servers of tests/conftest.py, plus the cluster's
CRDs and configuration, the collector and the operator as the processes a user would run.

The operator and the collector are subprocesses (``leadscore operator run``, ``leadscore
collector``) configured only through their documented environment and flags; the test
plays the kubelet (e2e_kubelet for training Jobs, e2e_kserve for the predictor Pod the real
KServe controller makes).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_kubelet import local_executable

from leadscore.operator.settings import OperatorSettings
from support.cluster import LEADSCORING_CRDS, Cluster, install_crds
from support.collector import running_collector
from support.mlflow_server import MLflowServer
from support.processes import ServerProcess, start_process
from support.s3 import S3Server

LEADSCORE = local_executable("leadscore")
PREDICTOR_SERVICE_ACCOUNT = "leadscore-predictor"
POLL_SECONDS = "1"
EXPERIMENT_SECONDS = "2"


def _stopped_with_log(process: ServerProcess) -> str:
    process.stop()
    return process.log_tail(6000)


@pytest.fixture(scope="session")
def e2e_crds(kube, kserve) -> None:
    """Our CRDs, installed (or already there) and Established, on a cluster running KServe."""
    with kube.api_client() as api:
        install_crds(api, LEADSCORING_CRDS)


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    """The artifact bucket (LEADSCORE_ARTIFACT_ROOT) and the dataset's home."""
    return s3_server.create_bucket()


@pytest.fixture
def cluster(kube, e2e_crds, kube_namespace: str, s3_server: S3Server,
            mlflow_server: MLflowServer) -> Iterator[Cluster]:
    """A namespace configured as the Helm chart configures one: the S3 ConfigMap and Secret and
    the MLflow ConfigMap that training Jobs (and A/B predictors) reference by name, and the
    predictor's ServiceAccount through which KServe finds the S3 Secret (its annotations say
    where S3 is)."""
    from kubernetes import client

    names = OperatorSettings()  # the operator runs with the default names
    secret_keys = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    s3_config = {k: v for k, v in s3_server.env.items() if k not in secret_keys}
    s3_secret = {k: v for k, v in s3_server.env.items() if k in secret_keys}
    with kube.api_client() as api:
        core = client.CoreV1Api(api)
        core.create_namespaced_config_map(kube_namespace, {"metadata": {"name": names.s3_config_map},
                                                           "data": s3_config})
        kserve_s3 = {"serving.kserve.io/s3-endpoint": s3_server.endpoint.removeprefix("http://"),
                     "serving.kserve.io/s3-usehttps": "0", "serving.kserve.io/s3-verifyssl": "0"}
        core.create_namespaced_secret(kube_namespace, {"metadata": {"name": names.s3_secret,
                                                                    "annotations": kserve_s3},
                                                       "stringData": s3_secret})
        core.create_namespaced_service_account(kube_namespace, {
            "metadata": {"name": PREDICTOR_SERVICE_ACCOUNT}, "secrets": [{"name": names.s3_secret}],
            "automountServiceAccountToken": False})
        core.create_namespaced_config_map(kube_namespace, {"metadata": {"name": names.mlflow_config_map},
                                                           "data": mlflow_server.env})
        yield Cluster(api, kube_namespace)


@pytest.fixture
def collector_url(tmp_path: Path) -> Iterator[str]:
    """``leadscore collector`` on a free loopback port with a SQLite event store in tmp_path."""
    with running_collector(f"sqlite:///{tmp_path / 'events.db'}", tmp_path / "collector.log",
                           launcher=[LEADSCORE], cwd=tmp_path, timeout=120) as url:
        yield url


@pytest.fixture
def operator_process(kube, cluster: Cluster, s3_server: S3Server, bucket: str, collector_url: str,
                     tmp_path: Path) -> Iterator[ServerProcess]:
    """``leadscore operator run --namespace NS``, configured as the chart configures it, fast timers."""
    env = {**os.environ, **kube.env, **s3_server.env,
           "LEADSCORE_ARTIFACT_ROOT": f"s3://{bucket}",
           "LEADSCORE_COLLECTOR_URL": collector_url,
           "LEADSCORE_TRAINER_IMAGE": "leadscore/trainer:e2e",
           "LEADSCORE_PREDICTOR_SERVICE_ACCOUNT": PREDICTOR_SERVICE_ACCOUNT,
           "LEADSCORE_POLL_SECONDS": POLL_SECONDS,
           "LEADSCORE_EXPERIMENT_SECONDS": EXPERIMENT_SECONDS}
    process = start_process("operator", [LEADSCORE, "operator", "run", "--namespace", cluster.namespace],
                            tmp_path / "operator.log", env=env, cwd=tmp_path)
    yield process
    alive = process.alive()
    tail = _stopped_with_log(process)
    assert alive, f"the operator died during the test:\n{tail}"


@pytest.fixture
def predictors() -> Iterator[list[Any]]:
    """Predictors started by the test (KServe's part); each is stopped at the end."""
    started: list[Any] = []
    yield started
    for predictor in started:
        predictor.process.stop()

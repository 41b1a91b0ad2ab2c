"""Shared fixtures: the real servers of docs/testing.md, started once per session on loopback.

Each fixture finds its binary (env var from ``hack/tools.sh --env``, else the build cache),
skips with the reason when it is missing (fails instead when ``CI=true``), and raises when a
present binary does not start. docs/testing.md describes them.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.controlplane import ControlPlane, fresh_namespace, running_control_plane
from support.helm import chart_object
from support.kserve import KServe, KServeInstall, running_kserve
from support.mlflow_server import MLflowServer, running_mlflow
from support.postgres import PostgresServer, running_postgres
from support.ray_cluster import RayCluster, running_ray
from support.s3 import S3Server, running_minio
from support.skipping import require_or_skip
from support.tools import built_tool, postgres_bin_dir


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A MinIO server: ``.endpoint``, ``.env`` (AWS_*/S3_*/MLFLOW_S3_* vars), ``.create_bucket()``."""
    binary = built_tool("LEADSCORE_MINIO_BIN", "build-minio.sh")
    if not binary.is_file():
        require_or_skip(f"MinIO server not found at {binary}: run `make tools` "
                        "(hack/build-minio.sh) or set LEADSCORE_MINIO_BIN")
    with running_minio(binary, tmp_path_factory.mktemp("minio")) as server:
        yield server


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """``s3_server`` with its env applied to os.environ and leadscore's cached S3 client reset."""
    from leadscore.store import s3

    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("S3_ENDPOINT", raising=False)
    s3._client.cache_clear()
    yield s3_server
    s3._client.cache_clear()


@pytest.fixture
def s3_bucket(s3_env: S3Server) -> str:
    """A fresh, empty bucket on the S3 server, with ``s3_env`` applied; its name."""
    return s3_env.create_bucket()


@pytest.fixture(scope="session")
def mlflow_server(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MLflowServer]:
    """``mlflow server`` (SQLite store, artifacts proxied to ``s3://mlflow``): ``.uri``, ``.env``."""
    with running_mlflow(s3_server, tmp_path_factory.mktemp("mlflow")) as server:
        yield server


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    """A real local Ray cluster (``ray start --head`` on 127.0.0.1, two CPUs, from the test virtualenv):
    ``.address`` for ``--ray-address``; stopped by its PID at the end. Tests that use it carry ``ray``."""
    with running_ray(tmp_path_factory.mktemp("ray")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """PostgreSQL: LEADSCORE_TEST_POSTGRES_URL's server, else a throw-away cluster on loopback."""
    external = os.environ.get("LEADSCORE_TEST_POSTGRES_URL")
    if external:
        yield PostgresServer.from_url(external)
        return
    bin_dir = postgres_bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").is_file():
        looked = bin_dir or "/usr/lib/postgresql/*/bin"
        require_or_skip(f"PostgreSQL binaries not found (looked in {looked}): "
                        "run `make tools` (hack/install-debs.sh) or set LEADSCORE_PG_BIN_DIR "
                        "or LEADSCORE_TEST_POSTGRES_URL")
    with running_postgres(Path(bin_dir)) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL ``postgresql+psycopg://...`` of the session's test database (shared by tests)."""
    return postgres_server.url()


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of a fresh database for this test only, dropped afterwards."""
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    """Path of the pinned ``helm`` binary (hack/build-helm.sh); pass ``--kubeconfig kube.kubeconfig``."""
    binary = built_tool("LEADSCORE_HELM_BIN", "build-helm.sh")
    if not binary.is_file():
        require_or_skip(f"helm not found at {binary}: run `make tools` (hack/build-helm.sh) "
                        "or set LEADSCORE_HELM_BIN")
    return binary


@pytest.fixture(scope="session")
def kube() -> Iterator[ControlPlane]:
    """etcd + kube-apiserver + kube-controller-manager (job, GC, namespace controllers), no kubelet.

    ``.kubeconfig`` (admin, group system:masters), ``.server``, ``.env`` ({"KUBECONFIG": ...}),
    ``.api_client()`` (a new kubernetes ApiClient).
    """
    bin_dir = built_tool("LEADSCORE_KUBE_BIN_DIR", "build-control-plane.sh")
    binaries = ("etcd", "kube-apiserver", "kube-controller-manager")
    missing = [name for name in binaries if not (bin_dir / name).is_file()]
    if missing:
        require_or_skip(f"Kubernetes control plane binaries {missing} not found in {bin_dir}: "
                        "run `make tools` (hack/build-control-plane.sh) or set LEADSCORE_KUBE_BIN_DIR")
    # A short private path outside pytest's temp root: it is deleted whole at teardown.
    with running_control_plane(bin_dir, Path(tempfile.mkdtemp(prefix="leadscore-kube-"))) as plane:
        yield plane


_namespace_numbers = itertools.count()


@pytest.fixture
def kube_namespace(kube: ControlPlane) -> Iterator[str]:
    """A fresh namespace (``test-<pid>-<n>``) on ``kube``, deleted after the test; its name."""
    with fresh_namespace(kube, f"test-{os.getpid()}-{next(_namespace_numbers)}") as name:
        yield name


@pytest.fixture
def other_namespace(kube: ControlPlane, kube_namespace: str) -> Iterator[str]:
    """A second fresh namespace (models living apart from the release, another team)."""
    with fresh_namespace(kube, f"{kube_namespace}-models") as name:
        yield name


@pytest.fixture(scope="session")
def kserve_install() -> KServeInstall:
    """The pinned KServe build (hack/build-kserve.sh): manager, agent and upstream's config/."""
    install = KServeInstall(built_tool("LEADSCORE_KSERVE_DIR", "build-kserve.sh"))
    if install.missing:
        require_or_skip(f"KServe build incomplete, missing {install.missing}: run `make tools` "
                        "(hack/build-kserve.sh) or set LEADSCORE_KSERVE_DIR")
    return install


def chart_serving_runtime(helm_bin: Path) -> dict:
    """The chart's ClusterServingRuntime as a default install renders it."""
    return chart_object(helm_bin, "servingruntime.yaml")


@pytest.fixture(scope="session")
def kserve(kube: ControlPlane, kserve_install: KServeInstall, helm_bin: Path) -> Iterator[KServe]:
    """The real KServe controller (Standard mode by default) on ``kube``, with its CRDs, its
    ``inferenceservice-config``, its webhooks and the chart's ``leadscore`` ClusterServingRuntime.
    Tests that use it carry the ``kserve`` marker."""
    workdir = Path(tempfile.mkdtemp(prefix="leadscore-kserve-"))
    with running_kserve(kube.kubeconfig, kserve_install, workdir,
                        runtimes=[chart_serving_runtime(helm_bin)]) as running:
        yield running

"""A real ``mlflow server`` on loopback: SQLite backend store, artifacts proxied into the S3 server.

Artifacts go through the tracking server (``--serve-artifacts``) to ``s3://mlflow`` on the test
MinIO, as in a cluster where only the server holds S3 credentials: clients need nothing but
the tracking URI.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.processes import ServerProcess, free_port, http_ok, start_process, wait_until
from support.s3 import S3Server

ARTIFACT_BUCKET = "mlflow"


@dataclass
class MLflowServer:
    uri: str
    artifacts_destination: str
    process: ServerProcess

    @property
    def env(self) -> dict[str, str]:
        return {"MLFLOW_TRACKING_URI": self.uri}


def mlflow_executable() -> Path:
    """The ``mlflow`` console script of the interpreter running the tests (the project venv)."""
    return Path(sys.executable).parent / "mlflow"


@contextmanager
def running_mlflow(s3: S3Server, workdir: Path, *, timeout: float = 180.0,
                   allowed_hosts: Sequence[str] = ()) -> Iterator[MLflowServer]:
    """``allowed_hosts``: Host headers MLflow accepts besides its defaults (loopback, private
    addresses), e.g. the name of a Service that leads pods to it."""
    s3.create_bucket(ARTIFACT_BUCKET)
    port = free_port()
    destination = f"s3://{ARTIFACT_BUCKET}"
    args = [
        mlflow_executable(), "server",
        "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
        "--serve-artifacts", "--artifacts-destination", destination,
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]
    if allowed_hosts:
        args += ["--allowed-hosts", ",".join([*allowed_hosts, "127.0.0.1", f"127.0.0.1:{port}", "localhost"])]
    env = {**os.environ, **s3.env, "MLFLOW_TRACKING_URI": ""}
    process = start_process("mlflow", args, workdir / "mlflow.log", env=env, cwd=workdir)
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{uri}/health"), what=f"MLflow /health at {uri}",
                   timeout=timeout, process=process)
        yield MLflowServer(uri=uri, artifacts_destination=destination, process=process)
    finally:
        process.stop()

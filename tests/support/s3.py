"""A real MinIO server on loopback: the S3 endpoint of the integration tests."""

from __future__ import annotations

import itertools
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from support.processes import ServerProcess, free_port, http_ok, start_process, wait_until

if TYPE_CHECKING:
    from minio import Minio

ACCESS_KEY = "leadscore-test"
SECRET_KEY = "leadscore-test-secret"  # MinIO wants at least 8 characters
REGION = "us-east-1"


@dataclass
class S3Server:
    """A running S3 endpoint and the environment that points clients (ours, MLflow's boto3) at it."""

    endpoint: str
    data_dir: Path
    process: ServerProcess
    _names: Iterator[int] = field(default_factory=itertools.count, repr=False)

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "S3_USE_HTTPS": "0",
        }

    def client(self) -> Minio:
        from minio import Minio

        return Minio(
            self.endpoint.removeprefix("http://"),
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            secure=False,
            region=REGION,
        )

    def create_bucket(self, name: str | None = None) -> str:
        """Create ``name`` (or a fresh ``test-bucket-<n>``) unless it exists; return its name.

        The server lives for the whole session, so tests that want isolation take a fresh name.
        """
        bucket = name or f"test-bucket-{next(self._names)}"
        client = self.client()
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
        return bucket


@contextmanager
def running_minio(binary: Path, workdir: Path, *, timeout: float = 90.0, extra_env: Mapping[str, str] | None = None,
                  tls: tuple[bytes, bytes, bytes] | None = None, quiet: bool = True) -> Iterator[S3Server]:
    """Start ``minio server`` on a free loopback port with a data dir under ``workdir``.

    ``extra_env`` adds MINIO_* settings (an OpenID provider, say); ``tls`` is (CA, certificate,
    key) PEMs: MinIO then serves HTTPS and ``endpoint`` is an https:// URL; ``quiet=False`` keeps
    the startup banner (where MinIO prints the role ARNs of its OpenID providers).
    """
    data_dir = workdir / "data"
    data_dir.mkdir(parents=True)
    port, console_port = free_port(), free_port()
    certs_dir = workdir / "certs"
    context = None
    if tls is not None:
        ca_pem, cert_pem, key_pem = tls
        certs_dir.mkdir()
        (certs_dir / "public.crt").write_bytes(cert_pem)
        (certs_dir / "private.key").write_bytes(key_pem)
        context = ssl.create_default_context(cadata=ca_pem.decode())
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(workdir),
        "MINIO_ROOT_USER": ACCESS_KEY,
        "MINIO_ROOT_PASSWORD": SECRET_KEY,
        "MINIO_REGION": REGION,
        "MINIO_BROWSER": "off",
        "MINIO_UPDATE": "off",
        "MINIO_CI_CD": "1",  # no interactive terminal niceties
        **(extra_env or {}),
    }
    args = [binary, "server", *(["--quiet"] if quiet else []), "--address", f"127.0.0.1:{port}",
            "--console-address", f"127.0.0.1:{console_port}", "--certs-dir", certs_dir, data_dir]
    process = start_process("minio", args, workdir / "minio.log", env=env)
    endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{endpoint}/minio/health/ready", context=context),
                   what=f"MinIO ready at {endpoint}", timeout=timeout, process=process)
        yield S3Server(endpoint=endpoint, data_dir=data_dir, process=process)
    finally:
        process.stop()

"""S3 / MinIO access through the ``minio`` client, configured the way KServe and MLflow are.

Environment (first one set wins):
- endpoint: ``AWS_ENDPOINT_URL``, ``S3_ENDPOINT``, ``MLFLOW_S3_ENDPOINT_URL`` (``http://host:port``
  or ``host:port``); default ``s3.amazonaws.com``.
- TLS: the endpoint's scheme, else ``S3_USE_HTTPS`` (``0``/``1``, default ``1``);
  ``S3_VERIFY_SSL=0`` disables certificate checks.
- credentials: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (optional ``AWS_SESSION_TOKEN``);
  region ``AWS_REGION`` / ``AWS_DEFAULT_REGION``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from leadscore.errors import ConfigError

if TYPE_CHECKING:
    from minio import Minio


@dataclass(frozen=True)
class S3Location:
    """``s3://bucket/key`` split into its parts (key without a leading slash)."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ConfigError(f"not an s3:// URI: {uri!r} (expected s3://bucket/key)")
        return cls(bucket=parsed.netloc, key=parsed.path.lstrip("/"))

    def child(self, name: str) -> S3Location:
        return S3Location(self.bucket, f"{self.key.rstrip('/')}/{name}" if self.key else name)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def is_s3_uri(value: str) -> bool:
    return value.startswith("s3://")


@dataclass(frozen=True)
class S3Settings:
    endpoint: str
    secure: bool
    verify: bool
    access_key: str | None
    secret_key: str | None
    session_token: str | None
    region: str | None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> S3Settings:
        env = dict(os.environ) if env is None else env
        raw = next((env[k] for k in ("AWS_ENDPOINT_URL", "S3_ENDPOINT", "MLFLOW_S3_ENDPOINT_URL")
                    if env.get(k)), "s3.amazonaws.com")
        if "://" in raw:
            parsed = urlparse(raw)
            secure = parsed.scheme == "https"
            endpoint = parsed.netloc
        else:
            secure = env.get("S3_USE_HTTPS", "1") not in ("0", "false", "False")
            endpoint = raw
        return cls(
            endpoint=endpoint,
            secure=secure,
            verify=env.get("S3_VERIFY_SSL", "1") not in ("0", "false", "False"),
            access_key=env.get("AWS_ACCESS_KEY_ID"),
            secret_key=env.get("AWS_SECRET_ACCESS_KEY"),
            session_token=env.get("AWS_SESSION_TOKEN"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
        )


def client(settings: S3Settings | None = None) -> Minio:
    """A ``Minio`` client for the environment's endpoint and credentials."""
    return _client(settings or S3Settings.from_env())


@lru_cache(maxsize=8)
def _client(settings: S3Settings) -> Minio:
    from minio import Minio

    http_client = None
    if settings.secure and not settings.verify:
        import urllib3

        http_client = urllib3.PoolManager(cert_reqs="CERT_NONE")
    return Minio(
        settings.endpoint,
        access_key=settings.access_key,
        secret_key=settings.secret_key,
        session_token=settings.session_token,
        secure=settings.secure,
        region=settings.region,
        http_client=http_client,
    )

"""S3 / MinIO access through the ``minio`` client, configured the way KServe and MLflow are.

Environment (first one set wins):
- endpoint: ``AWS_ENDPOINT_URL``, ``S3_ENDPOINT``, ``MLFLOW_S3_ENDPOINT_URL`` (``http://host:port``
  or ``host:port``); default ``s3.amazonaws.com``.
- TLS: the endpoint's scheme, else ``S3_USE_HTTPS`` (``0``/``1``, default ``1``);
  ``AWS_CA_BUNDLE`` a PEM file of the CAs to trust (a private CA), ``S3_VERIFY_SSL=0`` disables
  certificate checks (a self-signed test endpoint only).
- credentials, the first that is configured wins (``credentials_provider``):
  1. static keys ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (optional ``AWS_SESSION_TOKEN``);
  2. web identity, as EKS IRSA sets it up: ``AWS_WEB_IDENTITY_TOKEN_FILE`` (a projected
     ServiceAccount token), ``AWS_ROLE_ARN``, ``AWS_ROLE_SESSION_NAME``, exchanged through STS
     ``AssumeRoleWithWebIdentity`` at ``AWS_ENDPOINT_URL_STS`` (default: AWS's regional STS)
     and renewed before it expires;
  3. the instance or container role (EC2 instance metadata, ECS/EKS Pod Identity endpoints).
  Never anonymous: minio-py would send unsigned requests, which no real bucket accepts.
- region ``AWS_REGION`` / ``AWS_DEFAULT_REGION``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from leadscore.errors import ConfigError

if TYPE_CHECKING:
    import urllib3
    from minio import Minio
    from minio.credentials.providers import Provider

_FALSE = ("0", "false", "False")


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
    ca_bundle: str | None = None
    web_identity_token_file: str | None = None
    role_arn: str | None = None
    role_session_name: str | None = None
    sts_endpoint: str | None = None

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
            secure = env.get("S3_USE_HTTPS", "1") not in _FALSE
            endpoint = raw
        return cls(
            endpoint=endpoint,
            secure=secure,
            verify=env.get("S3_VERIFY_SSL", "1") not in _FALSE,
            access_key=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            ca_bundle=env.get("AWS_CA_BUNDLE") or None,
            web_identity_token_file=env.get("AWS_WEB_IDENTITY_TOKEN_FILE") or None,
            role_arn=env.get("AWS_ROLE_ARN") or None,
            role_session_name=env.get("AWS_ROLE_SESSION_NAME") or None,
            sts_endpoint=env.get("AWS_ENDPOINT_URL_STS") or None,
        )

    def sts_url(self) -> str:
        """Where web-identity tokens are exchanged: the configured STS, else AWS's (regional) one."""
        if self.sts_endpoint:
            return self.sts_endpoint
        if not self.region:
            return "https://sts.amazonaws.com"
        return f"https://sts.{self.region}.amazonaws.com" + (".cn" if self.region.startswith("cn-") else "")


def client(settings: S3Settings | None = None) -> Minio:
    """A ``Minio`` client for the environment's endpoint and credentials."""
    return _client(settings or S3Settings.from_env())


def http_client(settings: S3Settings) -> urllib3.PoolManager:
    """minio-py's own connection pool (its timeouts and retries), trusting ``AWS_CA_BUNDLE`` when
    set and checking certificates unless ``S3_VERIFY_SSL=0``; STS calls go through it too."""
    import certifi
    import urllib3

    timeout = 300  # minio-py: five minutes to connect and to read
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=timeout, read=timeout),
        maxsize=10,
        cert_reqs="CERT_REQUIRED" if settings.verify else "CERT_NONE",
        ca_certs=settings.ca_bundle or os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=5, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


def credentials_provider(settings: S3Settings, pool: urllib3.PoolManager) -> Provider:
    """Static keys, else web identity (IRSA), else the instance/container role: the first configured."""
    from minio.credentials.providers import IamAwsProvider, StaticProvider, WebIdentityProvider

    if settings.access_key or settings.secret_key:
        if not (settings.access_key and settings.secret_key):
            given, missing = (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if settings.access_key
                              else ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"))
            raise ConfigError(f"{given} is set but {missing} is not: set both, or neither to use a role")
        return StaticProvider(settings.access_key, settings.secret_key, settings.session_token)
    if settings.web_identity_token_file:
        token_file = settings.web_identity_token_file

        def token() -> dict[str, str]:
            """Read on every renewal: the kubelet rotates the projected token in place."""
            try:
                with open(token_file, encoding="utf-8") as handle:
                    return {"access_token": handle.read().strip(), "expires_in": "0"}
            except OSError as exc:
                raise ConfigError(f"AWS_WEB_IDENTITY_TOKEN_FILE {token_file}: cannot read it ({exc})") from exc

        return WebIdentityProvider(jwt_provider_func=token, sts_endpoint=settings.sts_url(),
                                   role_arn=settings.role_arn, role_session_name=settings.role_session_name,
                                   http_client=pool)
    return IamAwsProvider(http_client=pool)


@lru_cache(maxsize=8)
def _client(settings: S3Settings) -> Minio:
    from minio import Minio

    pool = http_client(settings)
    return Minio(settings.endpoint, secure=settings.secure, region=settings.region, http_client=pool,
                 credentials=credentials_provider(settings, pool))

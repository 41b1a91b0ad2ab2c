"""The S3 credential chain against a real MinIO: web identity (IRSA) through MinIO's
AssumeRoleWithWebIdentity, with a tiny OpenID issuer on loopback signing the token, over TLS
trusted through ``AWS_CA_BUNDLE``; and static keys winning over a token when both are set.

MinIO plays AWS STS here: it fetches the issuer's discovery document and JWKS, checks the
token's signature and audience, and hands out temporary keys bound to a role policy, exactly
the exchange EKS does for a pod whose ServiceAccount carries an IAM role.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from leadscore.errors import ConfigError
from leadscore.store import artifacts, s3
from support.oidc import OidcIssuer, running_issuer
from support.pki import CertificateAuthority
from support.processes import wait_until
from support.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server, running_minio
from support.skipping import require_or_skip
from support.tools import built_tool

pytestmark = pytest.mark.integration

CLIENT_ID = "leadscore-irsa-test"
ROLE_ARN = re.compile(r"arn:minio:iam:[^\s]*:role/[A-Za-z0-9_-]+")


@dataclass
class IdentityStore:
    server: S3Server
    issuer: OidcIssuer
    ca_file: Path
    role_arn: str


@pytest.fixture(scope="module")
def identity_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityStore]:
    """MinIO over TLS (a private CA) that trusts the loopback issuer, with a role policy readwrite."""
    binary = built_tool("LEADSCORE_MINIO_BIN", "build-minio.sh")
    if not binary.is_file():
        require_or_skip(f"MinIO server not found at {binary}: run `make tools` or set LEADSCORE_MINIO_BIN")
    workdir = tmp_path_factory.mktemp("minio-oidc")
    ca = CertificateAuthority("leadscore-s3-test-ca")
    serving = ca.serving_pair("minio", ["127.0.0.1", "localhost"])
    ca_file = workdir / "ca.pem"
    ca_file.write_bytes(ca.cert_pem)
    with running_issuer() as issuer:
        env = {"MINIO_IDENTITY_OPENID_CONFIG_URL": f"{issuer.url}/.well-known/openid-configuration",
               "MINIO_IDENTITY_OPENID_CLIENT_ID": CLIENT_ID,
               "MINIO_IDENTITY_OPENID_ROLE_POLICY": "readwrite"}
        with running_minio(binary, workdir / "minio", extra_env=env, quiet=False,
                           tls=(ca.cert_pem, serving.cert_pem, serving.key_pem)) as server:
            found: list[str] = []

            def arn_logged() -> bool:
                found[:] = ROLE_ARN.findall(server.process.log_tail(100_000))
                return bool(found)

            wait_until(arn_logged, what="MinIO's role ARN for the OpenID provider", timeout=30)
            yield IdentityStore(server, issuer, ca_file, found[0])


def _irsa_env(store: IdentityStore, token_file: Path) -> dict[str, str]:
    """What EKS puts in a pod whose ServiceAccount has eks.amazonaws.com/role-arn, pointed at MinIO."""
    return {"AWS_ENDPOINT_URL": store.server.endpoint, "AWS_ENDPOINT_URL_STS": store.server.endpoint,
            "AWS_REGION": REGION, "AWS_ROLE_ARN": store.role_arn, "AWS_ROLE_SESSION_NAME": "trainer",
            "AWS_WEB_IDENTITY_TOKEN_FILE": str(token_file), "AWS_CA_BUNDLE": str(store.ca_file)}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL",
                 "S3_ENDPOINT", "MLFLOW_S3_ENDPOINT_URL", "S3_USE_HTTPS", "S3_VERIFY_SSL", "AWS_CA_BUNDLE",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(name, raising=False)
    s3._client.cache_clear()
    yield monkeypatch
    s3._client.cache_clear()


def test_web_identity_token_gets_temporary_keys_that_sign_real_requests(
        identity_store: IdentityStore, clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(identity_store.issuer.token(CLIENT_ID, "system:serviceaccount:ml:leadscore-trainer"))
    for name, value in _irsa_env(identity_store, token_file).items():
        clean_env.setenv(name, value)
    client = s3.client()
    client.make_bucket("irsa-bucket")
    artifacts.write_bytes("s3://irsa-bucket/models/v1/result.json", b'{"ok": true}')
    assert artifacts.read_bytes("s3://irsa-bucket/models/v1/result.json") == b'{"ok": true}'
    credentials = client._provider.retrieve()  # the STS answer: temporary, not the root keys
    assert credentials.session_token and credentials.access_key != ACCESS_KEY


def test_a_token_the_issuer_did_not_sign_is_refused_by_sts(
        identity_store: IdentityStore, clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from minio.error import MinioException

    token_file = tmp_path / "token"
    forged = identity_store.issuer.token(CLIENT_ID, "intruder")
    token_file.write_text(forged[: forged.rindex(".") + 1] + "AAAA" + forged[forged.rindex(".") + 5:])
    for name, value in _irsa_env(identity_store, token_file).items():
        clean_env.setenv(name, value)
    with pytest.raises((MinioException, ValueError)):
        s3.client().list_buckets()


def test_tls_without_the_ca_bundle_is_refused_and_with_it_verified(
        identity_store: IdentityStore, clean_env: pytest.MonkeyPatch) -> None:
    import urllib3

    clean_env.setenv("AWS_ENDPOINT_URL", identity_store.server.endpoint)
    clean_env.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    clean_env.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    clean_env.setenv("AWS_REGION", REGION)
    with pytest.raises(urllib3.exceptions.MaxRetryError, match="CERTIFICATE_VERIFY_FAILED"):
        s3.client().list_buckets()
    s3._client.cache_clear()
    clean_env.setenv("AWS_CA_BUNDLE", str(identity_store.ca_file))
    assert isinstance(s3.client().list_buckets(), list)


def test_static_keys_win_over_a_web_identity_and_half_a_pair_is_refused(tmp_path: Path) -> None:
    from minio.credentials.providers import StaticProvider

    both = s3.S3Settings.from_env({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b",
                                   "AWS_WEB_IDENTITY_TOKEN_FILE": str(tmp_path / "token")})
    assert isinstance(s3.credentials_provider(both, s3.http_client(both)), StaticProvider)
    half = s3.S3Settings.from_env({"AWS_ACCESS_KEY_ID": "a"})
    with pytest.raises(ConfigError, match="AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"):
        s3.credentials_provider(half, s3.http_client(half))

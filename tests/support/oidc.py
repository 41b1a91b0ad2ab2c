"""A tiny OpenID Connect issuer on loopback: a discovery document, a JWKS, and RS256-signed tokens.

Enough for a relying party that verifies tokens offline (MinIO's AssumeRoleWithWebIdentity, as
AWS STS does for EKS IRSA): it fetches the discovery document and the JWKS, then checks each
token's signature, audience and expiry. There is no login flow: the test mints the tokens.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_ID = "leadscore-test-key"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uint(value: int) -> str:
    return _b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass
class OidcIssuer:
    """A running issuer at ``url``; ``token`` mints a signed JWT."""

    url: str
    key: rsa.RSAPrivateKey

    def token(self, audience: str, subject: str, lifetime: int = 3600, **claims: Any) -> str:
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "kid": KEY_ID}
        payload = {"iss": self.url, "aud": audience, "azp": audience, "sub": subject, "iat": now,
                   "nbf": now - 5, "exp": now + lifetime, **claims}
        signing_input = ".".join(_b64url(json.dumps(part).encode()) for part in (header, payload))
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KEY_ID,
                          "n": _uint(numbers.n), "e": _uint(numbers.e)}]}

    def discovery(self) -> dict[str, Any]:
        return {"issuer": self.url, "jwks_uri": f"{self.url}/jwks.json",
                "authorization_endpoint": f"{self.url}/authorize", "token_endpoint": f"{self.url}/token",
                "userinfo_endpoint": f"{self.url}/userinfo", "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid"], "claims_supported": ["sub", "aud", "exp", "iat", "iss"]}


@contextmanager
def running_issuer() -> Iterator[OidcIssuer]:
    """Serve the discovery document and JWKS on a free loopback port until the block ends."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    issuer = OidcIssuer(url=f"http://127.0.0.1:{server.server_address[1]}", key=key)
    documents = {"/.well-known/openid-configuration": issuer.discovery(), "/jwks.json": issuer.jwks()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            document = documents.get(self.path.split("?")[0])
            body = json.dumps(document or {"error": "not found"}).encode()
            self.send_response(200 if document else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

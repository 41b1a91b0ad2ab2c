"""What a stranger on the network may not do to a serving pod, and how refusals are logged.

KServe's ModelServer ships a few things a lead-scoring endpoint must not expose or do:

* the model-repository extension (``POST /v2/repository/models/<name>/unload`` and the gRPC
  ``RepositoryModelLoad``/``Unload``) lets any caller unload the served model. It is refused
  (HTTP 403, gRPC PERMISSION_DENIED) unless ``LEADSCORE_MODEL_REPOSITORY_API=true``, a setting
  only whoever deploys the pod controls; the read-only index stays available;
* ``/v2/health/ready`` says ready even when no model can score; here it is ready only while
  every registered model is;
* every refused request is logged with a 30-line traceback holding pieces of the caller's
  values; here it is one WARNING line naming where the request was wrong, never the value,
  and tracebacks are kept for real server errors;
* request bodies have no size limit; here a body over ``LEADSCORE_MAX_BODY_BYTES`` is refused
  with 413 as soon as its declared or streamed size passes the limit, before it is read whole
  (gRPC messages get the same limit as their maximum receive length);
* a compressed body (``Content-Encoding: gzip``) gets a confusing JSON error; here it is 415;
* ``GET .../<name>:predict`` answers 404 for a model called ``<name>:predict``; here it is 405;
* any caller may score as fast as it can send; here, when ``LEADSCORE_RATE_LIMIT`` is set, each
  client (its address, or the header ``LEADSCORE_RATE_CLIENT_HEADER`` names) gets that many
  scoring requests a second (bursts of ``LEADSCORE_RATE_BURST``) and then 429 with
  ``Retry-After`` (gRPC: RESOURCE_EXHAUSTED with a ``retry-after`` trailer). Health, metadata
  and ``/metrics`` are never limited: probes and scrapers must get through.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Mapping
from typing import Annotated, Any

from kserve.protocol.model_repository_extension import ModelRepositoryExtension
from pydantic import AfterValidator, Field
from pydantic_settings import SettingsConfigDict

from leadscore.auth.ratelimit import Burst, Rate, RateLimitedError, default_burst, shared_limiter
from leadscore.settings import EnvSettings

logger = logging.getLogger("leadscore.predictor")

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
"""16 MiB: a full 10,000-lead batch of typical leads is about 4 MB of JSON."""


class ServerGuards(EnvSettings):
    """The server-level settings a pod's deployer (never a caller) chooses: ``LEADSCORE_<FIELD>``;
    an empty variable counts as unset."""

    model_config = SettingsConfigDict(env_ignore_empty=True, str_strip_whitespace=True)

    model_repository_api: bool = Field(False, description="Allow the KServe model-repository load/unload API.")
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=1024, description="Largest request body accepted.")
    rate_limit: Rate | None = Field(None, description="Scoring requests a second per client; None: no limit.")
    rate_burst: Burst | None = Field(None, description="Scoring requests a client may send at once "
                                                       "(default: ten seconds of the rate).")
    rate_client_header: Annotated[str, AfterValidator(str.lower)] | None = Field(
        None, pattern=r"^[A-Za-z0-9-]+$", description="Header naming the client (set by a trusted proxy); "
                                                       "None: the peer address.")

    @property
    def burst(self) -> int:
        """The burst in force: the one set, else ten seconds of the rate."""
        if self.rate_burst is not None:
            return self.rate_burst
        return default_burst(self.rate_limit) if self.rate_limit is not None else 1


def guards_from(env: Mapping[str, str] | None = None) -> ServerGuards:
    """``LEADSCORE_MODEL_REPOSITORY_API`` (true/false), ``LEADSCORE_MAX_BODY_BYTES`` (bytes),
    ``LEADSCORE_RATE_LIMIT`` (requests/s per client), ``LEADSCORE_RATE_BURST`` (default 10 s of
    rate) and ``LEADSCORE_RATE_CLIENT_HEADER``; a bad value raises ``ConfigError`` naming it."""
    return ServerGuards.from_env(env)


def peer_host(peer: str) -> str:
    """The host of a gRPC peer (``ipv4:10.0.0.7:51234``, ``ipv6:[::1]:51234``), the REST client's spelling."""
    _, _, address = peer.partition(":")
    host = address.rsplit(":", 1)[0] if address else peer
    return host.strip("[]")


def admit_client(guards: ServerGuards, client: str) -> None:
    """Count one scoring request of ``client``; raises ``RateLimitedError`` over the limit."""
    if guards.rate_limit is not None:
        shared_limiter(guards.rate_limit, guards.burst).admit(client)


def retry_after_seconds(exc: RateLimitedError) -> str:
    """The ``Retry-After`` value: whole seconds, at least 1."""
    return str(max(1, math.ceil(exc.retry_after)))


class RepositoryApiDisabledError(Exception):
    """A load/unload call while the model-repository API is off."""

    def __init__(self, model_name: str) -> None:
        self.reason = (
            f"model repository API is disabled on this server; {model_name!r} stays loaded "
            f"(the deployer may set {ServerGuards.variable('model_repository_api')}=true)"
        )
        super().__init__(self.reason)


class GuardedRepository(ModelRepositoryExtension):
    """KServe's model-repository extension whose load/unload are refused unless ``enabled``
    (module-level classes throughout: ``--workers`` > 1 pickles them into each worker)."""

    def __init__(self, model_registry: Any, enabled: bool) -> None:
        super().__init__(model_registry=model_registry)
        self.enabled = enabled

    async def load(self, model_name: str) -> None:
        if not self.enabled:
            raise RepositoryApiDisabledError(model_name)
        await super().load(model_name)

    async def unload(self, model_name: str) -> None:
        if not self.enabled:
            raise RepositoryApiDisabledError(model_name)
        await super().unload(model_name)


class AllModelsReady:
    """Server readiness: at least one model registered and every registered model healthy."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry

    async def __call__(self) -> bool:
        models = list(self.registry.get_models())
        if not models:
            return False
        for name in models:
            if not await self.registry.is_model_ready(name):
                return False
        return True


def where_refused(exc: BaseException) -> str:
    """The part of a refusal message before the first ``:``: where, never what was sent."""
    text = str(getattr(exc, "reason", None) or exc)
    where = text.split(":", 1)[0] if ":" in text else type(exc).__name__
    return where[:80]


def log_refusal(protocol: str, exc: BaseException) -> None:
    """One line per refused request; values stay out of the log (they may be personal data)."""
    logger.warning("refused %s request: %s at %s", protocol, type(exc).__name__, where_refused(exc))


class BodyTooLargeError(Exception):
    """Raised inside ``receive`` when a streamed body passes the limit."""


_VERBS = (":predict", ":explain")
_SCORING = ("/v1/models/", "/v2/models/")


class RequestLimits:
    """ASGI middleware: 413 for a body whose Content-Length or streamed size exceeds the limit,
    415 for an encoded (compressed) body, 405 for a verb URL used with another method than POST."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.endswith(_VERBS) and scope.get("method") != "POST":
            await _answer(send, 405, f"{path.rsplit(':', 1)[1]} takes POST", [(b"allow", b"POST")])
            return
        for key, value in scope.get("headers", ()):
            if key == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._refuse(send, scope)
                return
            if key == b"content-encoding" and value.strip().lower() not in (b"", b"identity"):
                shown = value.decode("latin-1")[:20]
                await _answer(send, 415, f"Content-Encoding {shown} is not accepted; send the JSON body uncompressed")
                return
        seen = 0
        refused = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not refused:
                    refused = True
                    await self._refuse(send, scope)
                if refused:
                    raise BodyTooLargeError
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            if not refused:  # the 413 is already on the wire; whatever the app answers is dropped
                await send(message)

        with contextlib.suppress(BodyTooLargeError):
            await self.app(scope, limited_receive, guarded_send)

    async def _refuse(self, send: Any, scope: dict[str, Any]) -> None:
        logger.warning("refused http request: body over %d bytes at %s", self.max_bytes, scope.get("path", "")[:80])
        variable = ServerGuards.variable("max_body_bytes")
        await _answer(send, 413, f"request body is larger than {self.max_bytes} bytes ({variable})")


class RateLimit:
    """ASGI middleware: each client's POSTs to the V1/V2 model routes (scoring and explaining) go
    through ``admit_client``; over the limit the answer is 429 with ``Retry-After``."""

    def __init__(self, app: Any, guards: ServerGuards) -> None:
        self.app = app
        self.guards = guards

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path", "").startswith(_SCORING):
            client = self._client(scope)
            try:
                admit_client(self.guards, client)
            except RateLimitedError as exc:
                await _answer(send, 429, str(exc), [(b"retry-after", retry_after_seconds(exc).encode())])
                return
        await self.app(scope, receive, send)

    def _client(self, scope: dict[str, Any]) -> str:
        if self.guards.rate_client_header:
            wanted = self.guards.rate_client_header.encode()
            for key, value in scope.get("headers", ()):
                if key == wanted and value.strip():
                    return value.decode("latin-1").strip()
        peer = scope.get("client")
        return str(peer[0]) if peer else "unknown"


async def _answer(send: Any, status: int, error: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """A JSON ``{"error": ...}`` response straight onto the ASGI channel."""
    body = json.dumps({"error": error}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})

"""Who may post outcomes and read lead histories and summaries: bearer tokens, judged per namespace.

The CRM endpoints (``POST /v1/namespaces/{ns}/outcomes``, ``GET /v1/namespaces/{ns}/leads/{id}``)
and the summaries (``GET /v1/experiments/{ns}/{name}/summary``, ``GET /v1/models/{ns}/{service}/
drift`` and ``/performance``) need ``Authorization: Bearer <token>``:

* a **static token** from a Secret (``LEADSCORE_COLLECTOR_TOKEN``), for a CRM outside the cluster;
  it may do everything, in every namespace, so give it only to a CRM trusted with all of them;
* a **Kubernetes token** (a ServiceAccount's, or any the apiserver accepts), verified by a
  TokenReview and authorised by a SubjectAccessReview in the path's namespace: ``create`` (post)
  or ``get`` (read) ``outcomes.leadscoring.io`` (the chart's CRM ClusterRoles grant them), ``get``
  on the ``abexperiments`` (a summary) or ``leadscoringmodels`` (drift, live accuracy) whose
  figures are read: whoever may read the resource may read its figures.

No token is 401, a token the apiserver does not accept is 401, a known user without the right is
403; each says what was missing. Verdicts are not cached: the apiserver is the only judge.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from leadscore.auth.ratelimit import Burst, Rate, RateLimiter, default_burst
from leadscore.settings import EnvSettings, secret_of_at_least

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

GROUP, RESOURCE = "leadscoring.io", "outcomes"
"""What a SubjectAccessReview asks about; the chart's crm-writer/crm-reader ClusterRoles grant it."""
STATIC_USER = "static-token"


class GateSettings(EnvSettings):
    """``LEADSCORE_COLLECTOR_<FIELD>``; an empty variable counts as unset."""

    model_config = SettingsConfigDict(env_prefix="LEADSCORE_COLLECTOR_", env_ignore_empty=True)
    secrets: ClassVar[frozenset[str]] = frozenset({"token"})

    token: Annotated[SecretStr, secret_of_at_least(16)] | None = Field(
        None, description="A static token that may do everything (from a Secret); at least 16 characters.")
    kube_auth: bool = Field(False, description="Verify Kubernetes tokens with TokenReview and "
                                               "SubjectAccessReview (in-cluster credentials, else $KUBECONFIG).")
    rate: Rate | None = Field(None, description="Requests a second per caller; None: no limit.")
    burst: Burst | None = Field(None, description="Requests a caller may send at once (default: ten seconds "
                                                  "of the rate).")


KUBE_ENV = GateSettings.variable("kube_auth")


@dataclass(frozen=True)
class Right:
    """What a request asks to do: ``verb`` on ``resource`` (of ``GROUP``) in the path's namespace."""

    verb: Literal["create", "get"]
    resource: str
    doing: str
    """How a 403 says it: "<user> may not <doing> namespace 'x'"."""
    role: str | None = None
    """The chart's ClusterRole that grants it, if one does."""


POST_OUTCOMES = Right("create", RESOURCE, "post outcomes to", "<release>-crm-writer")
READ_LEADS = Right("get", RESOURCE, "read lead histories of", "<release>-crm-reader")
READ_EXPERIMENTS = Right("get", "abexperiments", "read experiment summaries of")
READ_MODELS = Right("get", "leadscoringmodels", "read model drift and live accuracy of")


class AccessDeniedError(Exception):
    """401 (who are you?) or 403 (you may not), with the message the caller sees."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Gate:
    """The collector's authentication, authorisation and rate limit (all optional)."""

    static_token: str | None = None
    kube: ApiClient | None = None
    limiter: RateLimiter | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.static_token or self.kube is not None)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Gate:
        """``LEADSCORE_COLLECTOR_TOKEN``, ``LEADSCORE_COLLECTOR_KUBE_AUTH=true`` (in-cluster
        credentials, else ``$KUBECONFIG``), ``LEADSCORE_COLLECTOR_RATE``/``_BURST``."""
        settings = GateSettings.from_env(env)
        kube = None
        if settings.kube_auth:
            from kubernetes import client, config

            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            kube = client.ApiClient()
        limiter = None
        if settings.rate is not None:
            limiter = RateLimiter(settings.rate, settings.burst or default_burst(settings.rate))
        token = settings.token.get_secret_value() if settings.token else None
        return cls(static_token=token, kube=kube, limiter=limiter)

    def check(self, authorization: str | None, right: Right, namespace: str) -> str:
        """The caller's name when it has ``right`` in ``namespace``; raises ``AccessDeniedError``."""
        if not self.enabled:
            return "anonymous"
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AccessDeniedError(401, "authorization: a bearer token is required (Authorization: Bearer <token>): "
                              "a ServiceAccount token, or the collector's static token")
        token = token.strip()
        if self.static_token and hmac.compare_digest(token.encode(), self.static_token.encode()):
            return STATIC_USER
        if self.kube is None:
            raise AccessDeniedError(401, "authorization: the bearer token is not the collector's static token")
        from leadscore.auth.kube import review_access, review_token

        user = review_token(self.kube, token)
        if user is None:
            raise AccessDeniedError(401, "authorization: the Kubernetes API server does not accept this token "
                              "(expired, revoked, or not a token of this cluster)")
        access = review_access(self.kube, user, right.verb, GROUP, right.resource, namespace=namespace)
        if not access.allowed:
            raise AccessDeniedError(403, f"{user.username} may not {right.doing} namespace {namespace!r}: grant it "
                              f"'{right.verb}' on {right.resource}.{GROUP} there"
                              + (f" (the chart's ClusterRole {right.role})" if right.role else "")
                              + (f"; {access.reason}" if access.reason else ""))
        return user.username

    def admit(self, authorization: str | None, right: Right, namespace: str, address: str) -> str:
        """``check``, then the rate limit of the caller (its name, else its address)."""
        who = self.check(authorization, right, namespace)
        client = address if who == "anonymous" else who
        if self.limiter is not None:
            self.limiter.admit(client)
        return who

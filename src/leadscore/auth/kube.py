"""Verify a bearer token (TokenReview) and check an action (SubjectAccessReview) with the apiserver.

The apiserver is the only judge: a token is whoever the apiserver says it is, and an action is
allowed only when the apiserver's authorizers (RBAC, webhooks) say so for that user. Nothing here
caches a verdict; callers that want to cache decide for how long.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from kubernetes.client import ApiClient


class User(BaseModel):
    """An authenticated Kubernetes identity, as the apiserver's TokenReview returned it."""

    model_config = ConfigDict(frozen=True)

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: dict[str, tuple[str, ...]] = Field(default_factory=dict)


class Access(BaseModel):
    """A SubjectAccessReview's verdict; ``reason`` is the authorizer's words (often empty on deny)."""

    model_config = ConfigDict(frozen=True)

    allowed: bool
    reason: str = ""


def review_token(api: ApiClient, token: str, audiences: list[str] | None = None) -> User | None:
    """The user ``token`` authenticates as, or None when the apiserver does not accept it.

    ``api`` must be allowed to ``create tokenreviews`` (system:auth-delegator grants it).
    Errors talking to the apiserver raise (``kubernetes.client.ApiException``): an unreachable
    judge is not a "no".
    """
    from kubernetes import client

    if not token.strip():
        return None
    spec = client.V1TokenReviewSpec(token=token.strip(), audiences=audiences)
    review = client.AuthenticationV1Api(api).create_token_review(client.V1TokenReview(spec=spec))
    status = review.status
    if status is None or not status.authenticated or status.user is None:
        return None
    info = status.user
    extra = {key: tuple(values or ()) for key, values in (info.extra or {}).items()}
    return User(username=info.username or "", uid=info.uid or "", groups=tuple(info.groups or ()),
                extra=extra)


def review_access(api: ApiClient, user: User, verb: str, group: str, resource: str,
                  namespace: str | None = None, name: str | None = None,
                  subresource: str | None = None) -> Access:
    """Whether ``user`` may ``verb`` the ``resource`` (of API ``group``, "" for core) in ``namespace``.

    ``api`` must be allowed to ``create subjectaccessreviews`` (system:auth-delegator grants it).
    """
    from kubernetes import client

    attributes = client.V1ResourceAttributes(verb=verb, group=group, resource=resource,
                                             namespace=namespace, name=name, subresource=subresource)
    spec = client.V1SubjectAccessReviewSpec(
        user=user.username, uid=user.uid or None, groups=list(user.groups) or None,
        extra={key: list(values) for key, values in user.extra.items()} or None,
        resource_attributes=attributes)
    review = client.AuthorizationV1Api(api).create_subject_access_review(client.V1SubjectAccessReview(spec=spec))
    status = review.status
    return Access(allowed=bool(status and status.allowed), reason=(status.reason or "") if status else "")


def allowed(api: ApiClient, user: User, verb: str, group: str, resource: str,
            namespace: str | None = None, name: str | None = None) -> bool:
    """``review_access(...).allowed``: for callers that need only the verdict."""
    return review_access(api, user, verb, group, resource, namespace, name).allowed

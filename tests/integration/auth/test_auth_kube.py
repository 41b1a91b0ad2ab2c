"""leadscore.auth against the real apiserver: TokenReview names the token's user, SAR applies RBAC."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from leadscore.auth import User, allowed, review_access, review_token
from support.controlplane import ControlPlane
from support.kubeusers import grant, service_account_token
from support.polling import eventually

pytestmark = pytest.mark.integration

GROUP = "leadscoring.io"


@pytest.fixture
def api(kube: ControlPlane) -> Iterator[client.ApiClient]:
    with kube.api_client() as api_client:
        yield api_client


def test_review_token_names_the_service_account_when_its_token_is_valid(
        api: client.ApiClient, kube_namespace: str) -> None:
    token = service_account_token(api, kube_namespace, "alice")

    user = review_token(api, token)

    assert user is not None
    assert user.username == f"system:serviceaccount:{kube_namespace}:alice"
    assert "system:serviceaccounts" in user.groups and user.uid


@pytest.mark.parametrize("token", ["", "   ", "not-a-token", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"])
def test_review_token_returns_none_when_the_apiserver_rejects_the_token(
        api: client.ApiClient, token: str) -> None:
    assert review_token(api, token) is None


def test_allowed_follows_rbac_for_the_reviewed_user(api: client.ApiClient, kube_namespace: str) -> None:
    user = review_token(api, service_account_token(api, kube_namespace, "bob"))
    assert user is not None
    grant(api, kube_namespace, "bob", "lsm-reader", [client.V1PolicyRule(
        api_groups=[GROUP], resources=["leadscoringmodels"], verbs=["get", "list"])])

    assert allowed(api, user, "get", GROUP, "leadscoringmodels", kube_namespace)
    assert not allowed(api, user, "patch", GROUP, "leadscoringmodels", kube_namespace)
    assert not allowed(api, user, "get", GROUP, "leadscoringmodels", "default")


def test_review_access_says_why_when_rbac_allows(api: client.ApiClient, kube_namespace: str) -> None:
    user = review_token(api, service_account_token(api, kube_namespace, "carol"))
    assert user is not None
    grant(api, kube_namespace, "carol", "lsm-patcher", [client.V1PolicyRule(
        api_groups=[GROUP], resources=["leadscoringmodels"], verbs=["patch"])])

    # the apiserver's RBAC authorizer sees a new binding through its informer: a moment later
    access = eventually(lambda: (a := review_access(api, user, "patch", GROUP, "leadscoringmodels",
                                                    kube_namespace, name="pc")).allowed and a,
                        what="the new RoleBinding to take effect", timeout=30)

    assert "lsm-patcher" in access.reason


def test_allowed_uses_the_groups_it_is_given(api: client.ApiClient) -> None:
    masters = User(username="someone", groups=("system:masters",))
    nobody = User(username="someone")

    assert allowed(api, masters, "delete", "", "namespaces")
    assert not allowed(api, nobody, "delete", "", "namespaces")

"""The collector's CRM endpoints behind bearer tokens, judged by the real kube-apiserver:
a ServiceAccount token is verified by TokenReview and authorised per namespace by a
SubjectAccessReview on ``outcomes.leadscoring.io``; a static token works everywhere; 401 and
403 say what is missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kubernetes import client

from leadscore.collector.app import create_app
from leadscore.collector.auth import GROUP, RESOURCE, Gate
from leadscore.collector.outcomes import OUTCOMES_PATH
from leadscore.store.events import open_store
from support.controlplane import ControlPlane
from support.kubeusers import grant, service_account_token

pytestmark = pytest.mark.integration

STATIC = "a-static-token-for-an-external-crm"
OUTCOME = {"lead_id": "L1", "converted": True, "occurred_at": "2024-01-02T00:00:00Z"}


@pytest.fixture
def guarded(kube: ControlPlane, tmp_path: Path) -> Iterator[tuple[TestClient, Any]]:
    """The collector with the static token and Kubernetes reviews (the admin plays its account)."""
    store = open_store(f"sqlite:///{tmp_path / 'events.db'}")
    with kube.api_client() as api, TestClient(create_app(store, gate=Gate(static_token=STATIC, kube=api))) as app:
        yield app, api
    store.dispose()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_service_account_may_post_and_read_only_where_rbac_grants_it(
        guarded: tuple[TestClient, Any], kube_namespace: str, other_namespace: str) -> None:
    app, api = guarded
    token = service_account_token(api, kube_namespace, "crm")
    grant(api, kube_namespace, "crm", "crm-writer",
          [client.V1PolicyRule(api_groups=[GROUP], resources=[RESOURCE], verbs=["create", "get"])])
    posted = app.post(OUTCOMES_PATH.format(namespace=kube_namespace), json=OUTCOME, headers=_bearer(token))
    assert posted.status_code == 200, posted.text
    read = app.get(f"/v1/namespaces/{kube_namespace}/leads/L1", headers=_bearer(token))
    assert read.status_code == 200 and len(read.json()["outcomes"]) == 1
    elsewhere = app.post(OUTCOMES_PATH.format(namespace=other_namespace), json=OUTCOME, headers=_bearer(token))
    assert elsewhere.status_code == 403
    assert elsewhere.json()["error"].startswith(
        f"system:serviceaccount:{kube_namespace}:crm may not post outcomes to namespace '{other_namespace}'")
    assert app.get(f"/v1/namespaces/{other_namespace}/leads/L1", headers=_bearer(token)).status_code == 403


def test_missing_or_foreign_tokens_are_401_and_the_static_token_works_everywhere(
        guarded: tuple[TestClient, Any], other_namespace: str) -> None:
    app, _ = guarded
    path = OUTCOMES_PATH.format(namespace=other_namespace)
    missing = app.post(path, json=OUTCOME)
    assert (missing.status_code, missing.headers["www-authenticate"]) == (401, "Bearer")
    assert missing.json()["error"].startswith("authorization: a bearer token is required")
    forged = app.post(path, json=OUTCOME, headers=_bearer("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"))
    assert forged.status_code == 401 and "does not accept this token" in forged.json()["error"]
    assert app.post(path, json=OUTCOME, headers=_bearer(STATIC)).status_code == 200
    assert app.get(f"/v1/namespaces/{other_namespace}/leads/L1", headers=_bearer(STATIC)).status_code == 200

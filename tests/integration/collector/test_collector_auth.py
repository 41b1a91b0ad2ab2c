"""The collector's CRM endpoints and summaries behind bearer tokens, judged by the real
kube-apiserver: a ServiceAccount token is verified by TokenReview and authorised per namespace by
a SubjectAccessReview on ``outcomes.leadscoring.io`` (CRM endpoints) or on the experiment or model
whose figures are read (summaries); a static token works everywhere; 401 and 403 say what is
missing. The operator's collector client shows its token and reads the real server."""

from __future__ import annotations

import os
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
from support.collector import running_collector
from support.controlplane import ControlPlane
from support.kubeusers import grant, service_account_token
from support.polling import eventually

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


def _granted(app: TestClient, path: str, token: str) -> Any:
    """``path``'s answer once the new RoleBinding reached the apiserver's RBAC authorizer (a moment)."""
    return eventually(lambda: (r := app.get(path, headers=_bearer(token))).status_code != 403 and r,
                      what="the new RoleBinding to take effect", timeout=30)


def test_summaries_need_a_token_with_get_on_the_experiment_or_model(
        guarded: tuple[TestClient, Any], kube_namespace: str, other_namespace: str) -> None:
    app, api = guarded
    summary = f"/v1/experiments/{kube_namespace}/ab/summary"
    performance = f"/v1/models/{kube_namespace}/pc/performance?version=v1"
    drift = f"/v1/models/{kube_namespace}/pc/drift?version=v1&model=/nowhere"
    for path in (summary, performance, drift):
        missing = app.get(path)
        assert (missing.status_code, missing.headers["www-authenticate"]) == (401, "Bearer"), path
    token = service_account_token(api, kube_namespace, "dashboard")
    denied = app.get(summary, headers=_bearer(token))
    assert denied.status_code == 403
    assert denied.json()["error"].startswith(
        f"system:serviceaccount:{kube_namespace}:dashboard may not read experiment summaries of namespace "
        f"'{kube_namespace}': grant it 'get' on abexperiments.{GROUP} there")
    assert app.get(performance, headers=_bearer(token)).json()["error"].startswith(
        f"system:serviceaccount:{kube_namespace}:dashboard may not read model drift and live accuracy")
    grant(api, kube_namespace, "dashboard", "experiment-reader",
          [client.V1PolicyRule(api_groups=[GROUP], resources=["abexperiments"], verbs=["get"])])
    assert _granted(app, summary, token).status_code == 200
    assert app.get(performance, headers=_bearer(token)).status_code == 403  # experiments, not models
    grant(api, kube_namespace, "dashboard", "model-reader",
          [client.V1PolicyRule(api_groups=[GROUP], resources=["leadscoringmodels"], verbs=["get"])])
    assert _granted(app, performance, token).status_code == 200
    assert _granted(app, drift, token).status_code == 404  # past the gate: no reference profile there
    elsewhere = app.get(f"/v1/experiments/{other_namespace}/ab/summary", headers=_bearer(token))
    assert elsewhere.status_code == 403
    assert app.get(f"/v1/experiments/{other_namespace}/ab/summary", headers=_bearer(STATIC)).status_code == 200


def test_the_operator_reads_summaries_with_its_service_account_token(
        kube: ControlPlane, kube_namespace: str, tmp_path: Path) -> None:
    """The real collector process with Kubernetes reviews on; the operator's client shows the
    token file it is given (its ServiceAccount's in a pod), with the chart's operator rights."""
    import httpx

    from leadscore.operator.collector_client import fetch_summary
    from leadscore.operator.settings import OperatorSettings

    with kube.api_client() as api:
        token = service_account_token(api, kube_namespace, "operator")
        grant(api, kube_namespace, "operator", "operator-reader", [client.V1PolicyRule(
            api_groups=[GROUP], resources=["leadscoringmodels", "abexperiments"], verbs=["get", "list", "watch"])])
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    env = {**os.environ, **kube.env, "LEADSCORE_COLLECTOR_KUBE_AUTH": "true"}
    with running_collector(f"sqlite:///{tmp_path / 'events.db'}", tmp_path / "collector.log", env=env) as url:
        without = OperatorSettings(collector_url=url, collector_token_file=str(tmp_path / "absent"))
        with pytest.raises(httpx.HTTPStatusError) as refused:
            fetch_summary(without, kube_namespace, "ab")
        assert refused.value.response.status_code == 401
        settings = OperatorSettings(collector_url=url, collector_token_file=str(token_file))
        summary = eventually(lambda: _summary_or_none(settings, kube_namespace), timeout=30,
                             what="the operator's RoleBinding to take effect")
        assert summary.arms["control"].exposures == 0


def _summary_or_none(settings: Any, namespace: str) -> Any:
    import httpx

    from leadscore.operator.collector_client import fetch_summary

    try:
        return fetch_summary(settings, namespace, "ab")
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code != 403:
            raise
        return None

"""The insights console in headless chromium, against the real apiserver (with the operator
running), the real artifact store (MinIO) and the real collector (on an SQLite event store).

Users are ServiceAccounts with tokens from the apiserver: ``ops`` may read and patch models and
experiments and read lead histories, ``viewer`` may only read models and experiments.
Screenshots go to docs/img/.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from operator_harness import LSM, consistently, finish_training, model, retrain, version_recorded

from leadscore.api.results import TrainingResult
from leadscore.collector.auth import KUBE_ENV
from leadscore.collector.auth import RESOURCE as OUTCOMES
from leadscore.console.app import create_app
from leadscore.console.sources import Sources
from leadscore.store import artifacts
from support.collector import running_collector
from support.console import browser, seed_events, serving, train_card
from support.kubeusers import grant, service_account_token
from support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "img"
GROUP = "leadscoring.io"
EXPERIMENT = "pc-v2-vs-v1"
ABX = "abexperiments"


@pytest.fixture(scope="session")
def card_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_card(tmp_path_factory.mktemp("console-card"))


@dataclass
class World:
    url: str
    namespace: str
    cluster: Any
    ops: str
    viewer: str


def _train(cluster: Any, bucket: str, card_dir: Path, version: str) -> None:
    uri = artifacts.publish_directory(card_dir, f"s3://{bucket}/{cluster.namespace}/pc/{version}/")
    result = TrainingResult.model_validate_json((card_dir / "result.json").read_text())
    message = result.model_copy(update={"model_name": "pc", "version": version, "artifact_uri": uri,
                                        "metrics": {k: v for k, v in result.metrics.items() if k != "rows"}})
    eventually(lambda: cluster.status(LSM, "pc").get("training", {}).get("version") == version,
               what=f"training {version} started", timeout=60)
    finish_training(cluster, "pc", version, message=message.to_termination_message())
    eventually(lambda: version_recorded(cluster, "pc", version), what=f"{version} recorded", timeout=60)


@pytest.fixture
def real_collector(kube, cluster, s3_bucket, tmp_path, monkeypatch) -> Iterator[str]:
    """The collector on seeded leads, started before the operator so that both the operator (health,
    experiment summaries) and the console read it, with the artifact store's credentials (it reads
    a version's reference profile). It judges lead-history reads itself: the console forwards the
    user's token."""
    db = f"sqlite:///{tmp_path / 'events.db'}"
    seed_events(db, cluster.namespace, "pc", EXPERIMENT, ("v1", "v2"), predictions=4000)
    collector_env = {**os.environ, **kube.env, KUBE_ENV: "true"}
    # the operator shows the collector a ServiceAccount token that may read models and experiments
    token_file = tmp_path / "operator-token"
    token_file.write_text(service_account_token(cluster.api, cluster.namespace, "operator"))
    grant(cluster.api, cluster.namespace, "operator", "summary-reader", [client.V1PolicyRule(
        api_groups=[GROUP], resources=["leadscoringmodels", "abexperiments"], verbs=["get"])])
    monkeypatch.setenv("LEADSCORE_COLLECTOR_TOKEN_FILE", str(token_file))
    with running_collector(db, tmp_path / "collector.log", env=collector_env) as collector_url:
        monkeypatch.setenv("LEADSCORE_COLLECTOR_URL", collector_url)
        yield collector_url


@pytest.fixture
def world(kube, cluster, real_collector, operator, s3_bucket, card_dir) -> Iterator[World]:
    cluster.create(LSM, model("pc"))
    _train(cluster, s3_bucket, card_dir, "v1")
    retrain(cluster, "pc", "second")
    _train(cluster, s3_bucket, card_dir, "v2")
    eventually(lambda: cluster.status(LSM, "pc").get("servedVersion"), what="a served version")
    cluster.create(ABX, {
        "apiVersion": "leadscoring.io/v1alpha1", "kind": "ABExperiment", "metadata": {"name": EXPERIMENT},
        "spec": {"modelRef": "pc", "control": {"version": "v1"}, "treatment": {"version": "v2"},
                 "minSamplesPerArm": 1000000}})
    # the model serves the experiment's split one claim interval later (the model is its only writer)
    eventually(lambda: cluster.status(LSM, "pc").get("experiment"), what="the experiment's split served", timeout=60)
    namespace = cluster.namespace
    ops, viewer = (service_account_token(cluster.api, namespace, n) for n in ("ops", "viewer"))
    read = client.V1PolicyRule(api_groups=[GROUP], resources=["leadscoringmodels", "abexperiments"],
                               verbs=["get", "list"])
    grant(cluster.api, namespace, "viewer", "console-viewer", [read])
    grant(cluster.api, namespace, "ops", "console-ops", [read, client.V1PolicyRule(
        api_groups=[GROUP], resources=["leadscoringmodels", "abexperiments"], verbs=["patch"]), client.V1PolicyRule(
        api_groups=[GROUP], resources=[OUTCOMES], verbs=["get"])])
    with kube.api_client() as console_api:
        app = create_app(console_api, Sources(console_api, real_collector), secrets.token_hex(32),
                         secure_cookie=False)
        with serving(app) as url:
            yield World(url, namespace, cluster, ops, viewer)


def _login(page: Any, url: str, token: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#token", token)
    _submit(page, lambda: page.keyboard.press("Enter"))  # keyboard only: Enter in the token field


def _submit(page: Any, action: Any) -> None:
    """Run ``action`` (a click or key press that submits a form) and wait for the next page."""
    with page.expect_navigation():
        action()


def _look_up(page: Any, url: str, namespace: str, lead_id: str) -> None:
    page.goto(f"{url}/leads")
    page.fill("#namespace", namespace)
    page.fill("#lead_id", lead_id)
    _submit(page, lambda: page.keyboard.press("Enter"))


def _points(page: Any, chart: str) -> int:
    page.wait_for_function(f"document.getElementById('{chart}') && document.getElementById('{chart}').data")
    return page.evaluate(f"document.getElementById('{chart}').data.reduce((n, t) => n + (t.x || []).length, 0)")


def test_console_shows_real_data_and_rollback_and_retrain_act_when_the_user_may(world: World) -> None:
    cluster, namespace = world.cluster, world.namespace
    served = cluster.status(LSM, "pc")["servedVersion"]  # the page shows the served version's card
    other = "v1" if served == "v2" else "v2"
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1366, "height": 900})
        _login(page, world.url, world.ops)
        assert page.inner_text("#who") == f"system:serviceaccount:{namespace}:ops"
        assert "pc" in page.inner_text("#models")
        # the operator's health of the served version (read from the same collector) shows in the list
        before = eventually(lambda: cluster.status(LSM, "pc").get("health"), what="the model's health", timeout=60)
        page.reload()
        after = cluster.status(LSM, "pc")["health"]  # the operator may re-evaluate meanwhile
        shown = (page.get_attribute("#models td.health", "data-health"), page.inner_text("#models td.health"))
        assert any(shown[0] == h["summary"] and h["message"] in shown[1] for h in (before, after))

        page.goto(f"{world.url}/models/{namespace}/pc")
        rows = page.locator("#versions tbody tr")
        assert [rows.nth(i).get_attribute("data-version") for i in range(rows.count())] == ["v2", "v1"]
        assert _points(page, "chart-drivers") == 10
        # five metrics of the served version, and of the one before it when there is one
        assert _points(page, "chart-metrics") == (10 if served == "v2" else 5)
        assert _points(page, "chart-reliability") >= 4
        assert _points(page, "chart-tiers") == 4  # two tiers seeded: share and conversion of each
        assert "high" in page.inner_text("#tiers") and "low" in page.inner_text("#tiers")
        page.screenshot(path=str(SCREENSHOTS / "console-model.png"), full_page=True)

        page.goto(f"{world.url}/experiments/{namespace}/{EXPERIMENT}")
        assert _points(page, "chart-timeline") > 20 and _points(page, "chart-lift") > 10
        assert "2000 leads" in page.inner_text("#stats") and "998000 more leads needed" in page.inner_text("#stats")
        page.screenshot(path=str(SCREENSHOTS / "console-experiment.png"), full_page=True)
        _submit(page, lambda: page.click("#stop"))
        assert "Stop requested" in page.inner_text("#message")
        assert cluster.get(ABX, EXPERIMENT)["spec"]["stopped"] is True
        stopped = eventually(lambda: (s := cluster.status(ABX, EXPERIMENT)).get("phase") == "Stopped" and s,
                             what="the operator stops the experiment", timeout=60)
        assert "decision" not in stopped and stopped.get("concluded")
        eventually(lambda: not cluster.status(LSM, "pc").get("experiment"), what="the model's traffic released")
        events = [e for e in cluster.events(EXPERIMENT) if e.reason == "StopRequested"]
        assert events and f"system:serviceaccount:{namespace}:ops" in events[0].message

        _look_up(page, world.url, namespace, "L-7")
        assert "v2" in page.inner_text("#scores")

        page.goto(f"{world.url}/models/{namespace}/pc")
        _submit(page, lambda: page.click(f"button[aria-label='Pin {other}']"))
        assert f"Pinned {other}" in page.inner_text("#message")
        assert cluster.get(LSM, "pc")["spec"]["serving"]["pinnedVersion"] == other
        eventually(lambda: cluster.isvc("pc")["spec"]["predictor"]["model"]["storageUri"].endswith(f"/pc/{other}/"),
                   what=f"the operator serves the pinned {other}", timeout=60)
        events = [e for e in cluster.events("pc") if e.reason == "Rollback"]
        assert events and f"system:serviceaccount:{namespace}:ops" in events[0].message

        jobs_before = len(cluster.jobs("pc"))
        _submit(page, lambda: page.click("#retrain"))
        assert "Retraining requested" in page.inner_text("#message")
        eventually(lambda: len(cluster.jobs("pc")) > jobs_before, what="a training Job", timeout=60)


def test_console_refuses_a_user_without_rights_and_changes_nothing(world: World) -> None:
    cluster, namespace = world.cluster, world.namespace
    before = cluster.get(LSM, "pc")
    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1366, "height": 900})
        _login(page, world.url, world.viewer)
        page.goto(f"{world.url}/models/{namespace}/pc")
        assert page.locator("#retrain").is_disabled()
        assert "may not patch leadscoringmodels.leadscoring.io" in page.inner_text("#why-disabled")
        page.screenshot(path=str(SCREENSHOTS / "console-refused.png"), full_page=True)

        # a user who enables the button anyway is refused by the server, with the reason
        page.evaluate("document.querySelectorAll('button[disabled]').forEach(b => b.disabled = false)")
        _submit(page, lambda: page.click("#retrain"))
        assert "Refused" in page.inner_text("#message")
        assert "may not patch leadscoringmodels.leadscoring.io" in page.inner_text("#message")
        page.evaluate("document.querySelectorAll('button[disabled]').forEach(b => b.disabled = false)")
        _submit(page, lambda: page.click("button[aria-label='Pin v1'], button[aria-label='Pin v2']"))
        assert "Refused" in page.inner_text("#message")

        page.goto(f"{world.url}/experiments/{namespace}/{EXPERIMENT}")
        assert page.locator("#stop").is_disabled()
        assert "may not patch abexperiments.leadscoring.io" in page.inner_text("#why-disabled")
        page.evaluate("document.querySelectorAll('button[disabled]').forEach(b => b.disabled = false)")
        _submit(page, lambda: page.click("#stop"))
        assert "Refused" in page.inner_text("#message")

        # the collector refuses this user's token a lead history: reading outcomes needs 'get outcomes'
        _look_up(page, world.url, namespace, "L-7")
        assert "may not read lead histories" in page.inner_text("#refused")
        assert page.locator("#scores").count() == 0

        # a cross-site form without the session's CSRF token is refused before any check
        page.goto(f"{world.url}/models/{namespace}/pc")
        page.evaluate("document.querySelectorAll('button[disabled]').forEach(b => b.disabled = false)")
        page.evaluate("document.querySelector('input[name=csrf]').value = 'forged'")
        _submit(page, lambda: page.click("#retrain"))
        assert "CSRF" in page.inner_text("#message")

    assert not cluster.get(ABX, EXPERIMENT)["spec"].get("stopped")
    consistently(lambda: cluster.get(LSM, "pc")["spec"] == before["spec"]
                 and cluster.get(LSM, "pc")["metadata"].get("annotations") == before["metadata"].get("annotations"),
                 what="the model is unchanged", duration=2)
    assert not [e for e in cluster.events("pc") if e.reason in ("Rollback", "RetrainRequested")]
    assert not [e for e in cluster.events(EXPERIMENT) if e.reason == "StopRequested"]


def test_console_login_explains_a_bad_token(kube) -> None:
    with kube.api_client() as api:
        app = create_app(api, Sources(api, None), secrets.token_hex(32), secure_cookie=False)
        with serving(app) as url, browser() as chromium:
            page = chromium.new_page()
            _login(page, url, "not-a-kubernetes-token")
            assert "did not accept this token" in page.inner_text("#error")
            page.screenshot(path=str(SCREENSHOTS / "console-login-error.png"))
            page.goto(f"{url}/")
            assert page.url.endswith("/login")

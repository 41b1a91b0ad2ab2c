"""GET /v1/models/{namespace}/{service}/drift: served leads against the version's reference profile."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from leadscore.collector.app import create_app
from leadscore.features import FeatureSpec, InputField
from leadscore.monitoring.profile import PROFILE_FILE, build_profile, record_columns
from leadscore.store.events import open_store
from unit.collector.kserve_logger import headers, response_body, scored

SPEC = FeatureSpec(inputs=[InputField(name="lead_id", kind="id", required=True),
                           InputField(name="pages", kind="numeric"), InputField(name="source", kind="categorical")],
                   encoders=[])


def records(n: int, seed: int, referral: float) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{"lead_id": f"S{seed}-{i}", "pages": int(rng.poisson(4)),
             "source": "referral" if rng.random() < referral else "web"} for i in range(n)]


def write_reference(directory: Path) -> Path:
    """A version directory holding the reference profile of 3,000 leads, 30 % referrals."""
    reference = records(3000, 1, referral=0.3)
    profile = build_profile(SPEC, record_columns(reference, ["pages", "source"]), len(reference),
                            np.random.default_rng(0).beta(2, 8, len(reference)))
    directory.mkdir(parents=True)
    (directory / PROFILE_FILE).write_text(profile.model_dump_json())
    return directory


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return write_reference(tmp_path / "v1")


@pytest.fixture
def client(store_url: str) -> Iterator[TestClient]:
    store = open_store(store_url)
    with TestClient(create_app(store)) as test_client:
        yield test_client
    store.dispose()


def serve(client: TestClient, leads: list[dict], version: str, prefix: str, batch: int = 200) -> None:
    """Both logger halves per batch of leads, as KServe's agent posts them."""
    rng = np.random.default_rng(len(leads))
    for start in range(0, len(leads), batch):
        chunk = leads[start : start + batch]
        event = f"{prefix}-{start}"
        request = json.dumps({"instances": chunk}).encode()
        response = response_body(*(scored(r["lead_id"], float(rng.beta(2, 8)), version=version) for r in chunk))
        for kind, body in (("request", request), ("response", response)):
            posted = client.post("/v1/events", headers=headers(event, kind), content=body)
            assert posted.status_code == 200, posted.text


def test_drift_flags_the_field_whose_mix_changed_in_the_served_window(client: TestClient, model_dir: Path) -> None:
    serve(client, records(800, 2, referral=0.7), "v1", "a")
    serve(client, records(400, 3, referral=0.3), "v2", "b")  # another version: not in v1's window
    response = client.get("/v1/models/sales/lead-model/drift", params={"version": "v1", "model": str(model_dir)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rows"] == 800 and body["model_version"] == "v1"
    assert body["drifted"] == ["source"]
    assert {f["name"] for f in body["fields"]} == {"pages", "source"}
    assert body["score_psi"] < 0.1


def test_drift_refuses_a_window_below_the_minimum(client: TestClient, model_dir: Path) -> None:
    serve(client, records(300, 2, referral=0.3), "v1", "a")
    response = client.get("/v1/models/sales/lead-model/drift", params={"version": "v1", "model": str(model_dir)})
    assert response.status_code == 422
    assert response.json()["reason"] == "InsufficientData" and "got 300" in response.json()["error"]
    lowered = client.get("/v1/models/sales/lead-model/drift",
                         params={"version": "v1", "model": str(model_dir), "min_rows": 300})
    assert lowered.status_code == 200 and lowered.json()["drifted"] == []


def test_drift_window_excludes_predictions_outside_it(client: TestClient, model_dir: Path) -> None:
    serve(client, records(600, 2, referral=0.3), "v1", "a")
    response = client.get("/v1/models/sales/lead-model/drift", params={
        "version": "v1", "model": str(model_dir), "since": "2020-01-01T00:00:00Z", "until": "2020-01-08T00:00:00Z"})
    assert response.status_code == 422 and "got 0" in response.json()["error"]


def test_drift_names_a_model_without_a_reference_profile(client: TestClient, tmp_path: Path) -> None:
    response = client.get("/v1/models/sales/lead-model/drift", params={"version": "v1", "model": str(tmp_path)})
    assert response.status_code == 404
    assert response.json()["error"].startswith("model: ") and PROFILE_FILE in response.json()["error"]


def test_drift_refuses_a_window_that_ends_before_it_starts(client: TestClient, model_dir: Path) -> None:
    response = client.get("/v1/models/sales/lead-model/drift", params={
        "version": "v1", "model": str(model_dir), "since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"})
    assert response.status_code == 400 and response.json()["error"].startswith("since:")


def test_drift_reports_and_exports_the_share_served_beyond_the_training_range(client: TestClient,
                                                                              tmp_path: Path) -> None:
    """Drift reads the raw logged values (not the clipped ones the model scored): leads sent with
    three times the pages show as drift, and as the share beyond the range the predictor clips to."""
    clipped = SPEC.model_copy(update={"inputs": [
        f.model_copy(update={"clip": (0.0, 9.0)}) if f.name == "pages" else f for f in SPEC.inputs]})
    reference = records(3000, 1, referral=0.3)
    profile = build_profile(clipped, record_columns(reference, ["pages", "source"]), len(reference),
                            np.random.default_rng(0).beta(2, 8, len(reference)))
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / PROFILE_FILE).write_text(profile.model_dump_json())
    served = [{**r, "pages": r["pages"] * 3} for r in records(800, 2, referral=0.3)]
    serve(client, served, "v1", "x")
    params = {"version": "v1", "model": str(tmp_path / "v1")}
    body = client.get("/v1/models/sales/lead-model/drift", params=params).json()
    pages = next(f for f in body["fields"] if f["name"] == "pages")
    beyond = sum(r["pages"] > 9 for r in served) / len(served)
    assert body["drifted"] == ["pages"] and pages["out_of_range"] == pytest.approx(beyond, abs=1e-6) and beyond > 0.3
    assert next(f for f in body["fields"] if f["name"] == "source")["out_of_range"] is None
    metrics = client.get("/metrics").text
    line = next(x for x in metrics.splitlines()
                if x.startswith("leadscore_drift_out_of_range{") and 'field="pages"' in x)
    assert float(line.rsplit(" ", 1)[1]) == pytest.approx(beyond, abs=1e-6)

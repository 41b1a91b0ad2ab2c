"""The retraining loop: scored leads + CRM outcomes -> ``collector export`` -> ``leadscore train``.

Synthetic P&C leads are logged through the collector's API as KServe's logger would post
them, their outcomes come from the generator's ground truth, and the exported Parquet file
is handed unchanged to the real trainer, which must publish a new model version from it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from leadscore.collector.app import create_app
from leadscore.data import drop_ground_truth, synth
from leadscore.store.events import open_store
from unit.collector.kserve_logger import headers, scored

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROWS, SEED = 600, 5


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.db'}"


@pytest.fixture
def client(db: str) -> Iterator[TestClient]:
    store = open_store(db)
    with TestClient(create_app(store)) as test_client:
        yield test_client
    store.dispose()


def _crm_leads() -> tuple[list[dict[str, object]], list[bool]]:
    frame = drop_ground_truth(synth.generate("pc", ROWS, SEED))
    labels = [bool(v) for v in frame.pop("converted")]
    frame["created_at"] = frame["created_at"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    records = [{k: v for k, v in r.items() if v is not None} for r in json.loads(frame.to_json(orient="records"))]
    return records, labels


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leadscore", *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def test_exported_training_set_retrains_with_leadscore_train(client: TestClient, db: str, tmp_path: Path) -> None:
    records, labels = _crm_leads()
    for n in range(0, ROWS, 100):
        batch = records[n : n + 100]
        halves = (
            ("request", {"instances": batch}),
            ("response", {"predictions": [scored(str(r["lead_id"])) for r in batch]}),
        )
        for kind, body in halves:
            reply = client.post("/v1/events", headers=headers(f"batch-{n}", kind), content=json.dumps(body))
            assert reply.status_code == 200, reply.text
    later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    outcomes = [
        {"lead_id": r["lead_id"], "converted": won, "occurred_at": later}
        for r, won in zip(records, labels, strict=True)
    ]
    assert client.post("/v1/namespaces/sales/outcomes", json=outcomes).json()["stored"] == ROWS

    data = tmp_path / "retrain.parquet"
    exported = _run(["collector", "export", "--since", "2000-01-01", "--output", str(data), "--db", db,
                     "--namespace", "sales"], tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert f"wrote {ROWS} leads ({sum(labels)} converted)" in exported.stdout

    version = tmp_path / "models" / "v2"
    trained = _run(
        [
            "train",
            "--data",
            str(data),
            "--target",
            "converted",
            "--id-col",
            "lead_id",
            "--time-col",
            "created_at",
            "--exclude",
            "predicted_at",
            "--output",
            str(version),
            "--algorithms",
            "lr",
            "--trials",
            "1",
            "--no-ensemble",
            "--seed",
            "3",
            "--threads",
            "1",
            "--version",
            "v2",
            "--mlflow-uri",
            f"sqlite:///{tmp_path / 'mlflow.db'}",
            "--termination-path",
            str(tmp_path / "termination"),
        ],
        tmp_path,
    )
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    result = json.loads((version / "result.json").read_text())
    assert (result["status"], result["version"]) == ("Succeeded", "v2")
    card = json.loads((version / "model_card.json").read_text())
    assert (card["data"]["rows"], card["data"]["schema"]["target"]) == (ROWS, "converted")
    inputs = {i["name"] for i in json.loads((version / "feature_spec.json").read_text())["inputs"]}
    assert "predicted_at" not in inputs
    assert {"source", "created_at", "requested_quote"} <= inputs

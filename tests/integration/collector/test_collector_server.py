"""``leadscore collector`` as a real uvicorn server on loopback, on SQLite and PostgreSQL.

Events are posted over HTTP the way KServe's logger agent posts them (binary-mode headers,
request and response halves sent independently and concurrently), then the training set
is exported with the real CLI and read back.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pandas as pd
import pytest
from sqlalchemy import select

from leadscore.api.summary import ExperimentSummary
from leadscore.cli.main import main
from leadscore.collector.cloudevents import parse_event
from leadscore.collector.ingest import record_event, record_outcomes
from leadscore.collector.outcomes import parse_outcomes
from leadscore.store import artifacts
from leadscore.store.events import Prediction, open_store
from support.collector import running_collector
from unit.collector.kserve_logger import headers, lead, scored

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Collector:
    url: str
    db: str


@pytest.fixture(params=["sqlite", "postgresql"])
def collector(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Collector]:
    db = (
        f"sqlite:///{tmp_path / 'events.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_database")
    )
    with running_collector(db, tmp_path / "collector.log") as url:
        yield Collector(url=url, db=db)


def _halves(
    event_id: str, lead_ids: list[str], experiment: str | None = None
) -> list[tuple[dict[str, str], bytes]]:
    request = json.dumps({"instances": [lead(i, pages_viewed=n) for n, i in enumerate(lead_ids)]})
    arms = ["control" if n % 2 else "treatment" for n in range(len(lead_ids))]
    response = json.dumps(
        {
            "predictions": [
                scored(i, 0.1 + 0.8 * (n % 2), arm=a)
                for n, (i, a) in enumerate(zip(lead_ids, arms, strict=True))
            ]
        }
    )
    return [
        (headers(event_id, "request", experiment=experiment), request.encode()),
        (headers(event_id, "response", experiment=experiment), response.encode()),
    ]


def test_collector_server_pairs_every_request_with_its_response_when_halves_race(
    collector: Collector,
) -> None:
    rng = random.Random(7)
    posts = [half for e in range(40) for half in _halves(f"race-{e}", [f"R{e}-a", f"R{e}-b"])]
    rng.shuffle(posts)
    with httpx.Client(base_url=collector.url, timeout=30) as client, ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda p: client.post("/v1/events", headers=p[0], content=p[1]).status_code, posts)
        )
    assert statuses == [200] * len(posts)
    store = open_store(collector.db)
    try:
        with store.transaction() as session:
            rows = session.scalars(select(Prediction)).all()
    finally:
        store.dispose()
    assert len(rows) == 80
    assert sum(r.features is None for r in rows) == 0
    assert all(r.features["lead_id"] == r.lead_id for r in rows)


def test_collector_server_round_trip_from_events_to_parquet(collector: Collector, tmp_path: Path) -> None:
    with httpx.Client(base_url=collector.url, timeout=30) as client:
        for e in range(3):
            for sent_headers, body in reversed(
                _halves(f"rt-{e}", [f"L{e}-0", f"L{e}-1"], experiment="ab-q3")
            ):
                assert client.post("/v1/events", headers=sent_headers, content=body).status_code == 200
        outcomes = [
            {
                "lead_id": f"L{e}-{k}",
                "converted": k == 1,
                "value": 500.0 if k == 1 else None,
                "occurred_at": datetime.now(UTC).isoformat(),  # after the exposures just logged
            }
            for e in range(3)
            for k in range(2)
            if e < 2
        ]
        assert client.post("/v1/namespaces/sales/outcomes", json={"outcomes": outcomes}).json()["stored"] == 4
        summary = ExperimentSummary.model_validate(client.get("/v1/experiments/sales/ab-q3/summary").json())
    assert {arm: (s.exposures, s.conversions, s.value_sum) for arm, s in summary.arms.items()} == {
        "treatment": (3, 0, 0.0),
        "control": (3, 2, 1000.0),
    }

    output = tmp_path / "training.parquet"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "leadscore",
            "collector",
            "export",
            "--since",
            "2000-01-01",
            "--output",
            str(output),
            "--db",
            collector.db,
            "--namespace",
            "sales",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote 4 leads (2 converted)" in done.stdout
    assert "left out 2 without outcome" in done.stdout
    frame = pd.read_parquet(output)
    assert list(frame.columns) == [
        "lead_id",
        "predicted_at",
        "source",
        "annual_income",
        "pages_viewed",
        "converted",
    ]
    assert sorted(zip(frame["lead_id"], frame["converted"], strict=True)) == [
        ("L0-0", 0),
        ("L0-1", 1),
        ("L1-0", 0),
        ("L1-1", 1),
    ]


def test_collector_export_writes_to_s3_when_output_is_a_uri(s3_bucket: str, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'events.db'}"
    store = open_store(db)
    try:
        for sent_headers, body in _halves("s3-1", ["S1", "S2"]):
            record_event(store, *parse_event(sent_headers, body))
        record_outcomes(
            store,
            "sales",
            parse_outcomes(
                [
                    {"lead_id": "S1", "converted": True, "occurred_at": "2026-01-01"},
                    {"lead_id": "S2", "converted": False, "occurred_at": "2026-01-01"},
                ]
            ),
        )
    finally:
        store.dispose()
    uri = f"s3://{s3_bucket}/exports/training.parquet"
    assert main(["collector", "export", "--since", "2000-01-01", "--output", uri, "--db", db,
                 "--namespace", "sales"]) == 0
    frame = pd.read_parquet(io.BytesIO(artifacts.read_bytes(uri)))
    assert dict(zip(frame["lead_id"], frame["converted"], strict=True)) == {"S1": 1, "S2": 0}


def test_operator_reads_a_canary_split_counted_by_version_from_the_real_server(collector: Collector) -> None:
    from datetime import UTC, datetime

    from leadscore.api.summary import ServingSplit
    from leadscore.operator.collector_client import fetch_summary
    from leadscore.operator.settings import OperatorSettings

    def post(event_id: str, lead_id: str, version: str, at: str, **kw: object) -> None:
        body = json.dumps({"predictions": [scored(lead_id, version=version)]}).encode()
        sent = headers(event_id, "response", time=at, **kw)
        answer = httpx.post(f"{collector.url}/v1/events", content=body, headers=sent)
        assert answer.status_code == 200, answer.text

    post("c1", "A1", "v1", "2024-01-01T10:00:00+00:00")  # the control revision tags nothing
    post("t1", "B1", "v2", "2024-01-01T10:01:00+00:00", experiment="canary-ab", endpoint="canary")
    post("c0", "A0", "v1", "2024-01-01T08:00:00+00:00")  # before the split started
    settings = OperatorSettings(collector_url=collector.url)
    split = ServingSplit(service="lead-model", control_version="v1", treatment_version="v2",
                         since=datetime(2024, 1, 1, 9, 0, tzinfo=UTC))
    arms = fetch_summary(settings, "sales", "canary-ab", split).arms
    assert (arms["control"].exposures, arms["treatment"].exposures) == (1, 1)
    assert fetch_summary(settings, "sales", "canary-ab").arms["control"].exposures == 0

"""A bounded load-and-fault test: kill -9 the collector while clients post outcomes, restart
it, and every acknowledged outcome is there (issue 19; on SQLite and PostgreSQL).

Bounded in every direction: 4 clients, at most ``MAX_POSTS`` posts each, the kill after
``KILL_AFTER`` seconds, every wait capped. The figures are printed (``-s``), never asserted:
speed belongs in benchmarks.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from leadscore.store.events import Outcome, open_store
from support.processes import ServerProcess, free_port, http_ok, start_process, wait_until

pytestmark = pytest.mark.integration

CLIENTS = 4
BATCH = 20
MAX_POSTS = 2_000
KILL_AFTER = 2.0
ROUNDS = 2


def _start(db: str, log: Path, port: int) -> ServerProcess:
    args = [sys.executable, "-m", "leadscore", "collector", "--db", db, "--port", str(port), "--log-level", "warning"]
    process = start_process("collector", args, log)
    wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/healthz"), what="collector /healthz", timeout=60,
               process=process)
    return process


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'events.db'}"
    else:
        yield request.getfixturevalue("postgres_database")


def _client_run(url: str, client_id: int, round_id: int, stop: threading.Event) -> tuple[list[str], int]:
    """Post batches until the server dies or ``stop``; the keys of every acknowledged batch."""
    acknowledged: list[str] = []
    attempts = 0
    when = datetime.now(UTC).isoformat()
    with httpx.Client(base_url=url, timeout=10) as client:
        for post in range(MAX_POSTS):
            if stop.is_set():
                break
            keys = [f"r{round_id}-c{client_id}-p{post}-{i}" for i in range(BATCH)]
            batch = [{"lead_id": f"L{client_id}-{post}-{i}", "converted": i % 3 == 0, "occurred_at": when,
                      "idempotency_key": key} for i, key in enumerate(keys)]
            attempts += 1
            try:
                response = client.post("/v1/namespaces/sales/outcomes", json={"outcomes": batch})
            except httpx.HTTPError:
                break  # the server is gone: this batch was never acknowledged
            if response.status_code == 200 and response.json()["stored"] == BATCH:
                acknowledged.extend(keys)
    return acknowledged, attempts


def test_every_acknowledged_outcome_survives_kill_9(db: str, tmp_path: Path) -> None:
    total_acknowledged = 0
    total_seconds = 0.0
    for round_id in range(ROUNDS):
        port = free_port()
        process = _start(db, tmp_path / f"collector-{round_id}.log", port)
        stop = threading.Event()
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            runs = [pool.submit(_client_run, f"http://127.0.0.1:{port}", c, round_id, stop) for c in range(CLIENTS)]
            time.sleep(KILL_AFTER)
            os.killpg(process.popen.pid, signal.SIGKILL)  # our own process group, started above
            process.popen.wait(timeout=30)
            killed_at = time.perf_counter()
            stop.set()
            results = [run.result(timeout=60) for run in runs]
        acknowledged = [key for keys, _ in results for key in keys]
        assert acknowledged, "no batch was acknowledged before the kill: the test measured nothing"
        total_acknowledged += len(acknowledged)
        total_seconds += killed_at - started

        restarted = _start(db, tmp_path / f"collector-{round_id}-after.log", free_port())
        try:
            store = open_store(db)
            try:
                with store.transaction() as session:
                    present = set(session.scalars(select(Outcome.idempotency_key)))
            finally:
                store.dispose()
        finally:
            restarted.stop()
        missing = [key for key in acknowledged if key not in present]
        assert missing == [], f"{len(missing)} acknowledged outcomes lost after kill -9, e.g. {missing[:3]}"
    print(f"\n{db.split(':')[0]}: {total_acknowledged} outcomes acknowledged in {ROUNDS} kill -9 rounds, "
          f"all present; {total_acknowledged / total_seconds:.0f} outcomes/s ({CLIENTS} clients, batches of {BATCH})")

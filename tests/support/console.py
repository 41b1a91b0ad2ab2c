"""The console for tests: served in-process by uvicorn on a loopback port, a real trained model
card to show, collector data seeded into a real event store, and headless Debian chromium."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from support.processes import free_port, http_ok, wait_until
from support.skipping import require_or_skip

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@contextmanager
def serving(app: Any, timeout: float = 30) -> Iterator[str]:
    """``app`` under uvicorn in a thread on 127.0.0.1; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/healthz"), what="console /healthz", timeout=timeout)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def train_card(directory: Path, rows: int = 3000) -> Path:
    """A real artifact directory (model card included): ``leadscore train`` of LR on synthetic leads."""
    data = directory / "leads.parquet"
    cli = [sys.executable, "-m", "leadscore"]
    subprocess.run([*cli, "data", "synth", "--rows", str(rows), "--seed", "3", "--output", str(data)],
                   check=True, capture_output=True, timeout=300)
    output = directory / "model"
    subprocess.run([*cli, "train", "--data", str(data), "--target", "converted", "--id-col", "lead_id",
                    "--time-col", "created_at", "--exclude", "true_probability", "--algorithms", "lr",
                    "--trials", "1", "--output", str(output), "--mlflow-uri", str(directory / "mlflow")],
                   check=True, capture_output=True, timeout=600)
    return output


def seed_events(db: str, namespace: str, service: str, experiment: str, versions: tuple[str, str],
                predictions: int, days: int = 14, seed: int = 1) -> None:
    """``predictions`` scored leads of a sticky experiment over ``days`` days (treatment converts
    a little better) and their outcomes in ``namespace``, written through the event store."""
    from leadscore.store.events import Outcome, Prediction, insert_new, open_store

    rng = random.Random(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=days)
    rows, outcomes = [], []
    for n in range(predictions):
        arm = "treatment" if n % 2 else "control"
        probability = rng.random()
        at = start + timedelta(seconds=n * days * 86400 / predictions)
        rows.append({"event_id": f"e{n // 100}", "idx": n % 100, "lead_id": f"L-{n}", "probability": probability,
                     "score": round(probability * 100), "tier": "high" if probability > 0.7 else "low",
                     "action": "call", "model_version": versions[n % 2], "arm": arm, "experiment": experiment,
                     "namespace": namespace, "inference_service": service, "predicted_at": at})
        if rng.random() < (0.14 if n % 2 else 0.11):
            converted_at = min(at + timedelta(hours=5), now)  # the collector takes no outcome from the future
            outcomes.append({"idempotency_key": f"o{n}", "namespace": namespace, "lead_id": f"L-{n}",
                             "converted": True, "value": 100.0, "occurred_at": converted_at,
                             "received_at": converted_at})
    store = open_store(db)
    try:
        with store.transaction() as session:
            for chunk in range(0, len(rows), 5000):
                insert_new(session, Prediction, rows[chunk:chunk + 5000])
            for chunk in range(0, len(outcomes), 5000):
                insert_new(session, Outcome, outcomes[chunk:chunk + 5000])
    finally:
        store.dispose()


def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        require_or_skip(f"chromium not found at {CHROMIUM}: run hack/install-debs.sh (apt-get install chromium)")
    return CHROMIUM


@contextmanager
def browser() -> Iterator[Any]:
    """Headless Debian chromium driven by Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target

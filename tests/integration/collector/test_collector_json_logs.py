"""LEADSCORE_LOG_FORMAT=json: the real collector process writes one JSON object per log line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from support.collector import MODULE_LAUNCHER
from support.processes import free_port, http_ok, start_process, wait_until

pytestmark = pytest.mark.integration


def test_collector_logs_are_json_lines_when_asked(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "collector.log"
    args = [*MODULE_LAUNCHER, "collector", "--db", f"sqlite:///{tmp_path / 'events.db'}", "--port", str(port),
            "--log-level", "info"]
    process = start_process("collector", args, log, env={**os.environ, "LEADSCORE_LOG_FORMAT": "json"})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_ok(f"{url}/healthz"), what="collector /healthz", timeout=60, process=process)
        assert httpx.post(f"{url}/v1/outcomes", content=b"nope", timeout=10).status_code == 400
    finally:
        process.stop()
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert entries and all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    assert any(e["logger"] == "uvicorn.access" and "/v1/outcomes" in e["message"] and "400" in e["message"]
               for e in entries)

"""What the real OpenTelemetry SDK and our JSON logs write, read back from a process's log file.

Processes are switched to tracing the way a deployment does it (``OTEL_TRACES_EXPORTER``), with
the console exporter so the spans land in the log as JSON objects.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

TRACED = {"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "100"}


def json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object that starts a line (a JSON log line, or a console-exported span)."""
    decoder, found, offset = json.JSONDecoder(), [], 0
    for line in text.splitlines(keepends=True):
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):  # a line that only looks like JSON
                found.append(decoder.raw_decode(text, offset)[0])
        offset += len(line)
    return found


def spans(log: Path) -> list[dict[str, Any]]:
    return [o for o in json_objects(log.read_text(errors="replace")) if "context" in o]


def event_spans(log: Path) -> list[dict[str, Any]]:
    return [x for x in spans(log) if x["name"] == "record inference event"]


def log_entries(log: Path) -> list[dict[str, Any]]:
    return [o for o in json_objects(log.read_text(errors="replace")) if "level" in o]

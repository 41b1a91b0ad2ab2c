"""Optional JSON logs: ``LEADSCORE_LOG_FORMAT=json`` makes the collector (uvicorn) and the operator
(kopf) write one JSON object per line, for log pipelines that index fields instead of text."""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

LOG_FORMAT_ENV = "LEADSCORE_LOG_FORMAT"


def json_wanted(env: Mapping[str, str] | None = None) -> bool:
    """True when ``LEADSCORE_LOG_FORMAT`` is ``json`` (any other value keeps plain text)."""
    return (os.environ if env is None else env).get(LOG_FORMAT_ENV, "").strip().lower() == "json"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message"[, "exception"]}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with every formatter replaced by ``JsonFormatter``."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"] = {name: {"()": f"{__name__}.JsonFormatter"} for name in config["formatters"]}
    return config

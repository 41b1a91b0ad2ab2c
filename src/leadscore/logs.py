"""Optional JSON logs: ``LEADSCORE_LOG_FORMAT=json`` makes the collector (uvicorn), the predictor
(KServe's ModelServer) and the operator (kopf) write one JSON object per line, for log pipelines
that index fields instead of text."""

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


def json_log_config(config: Mapping[str, Any], root_handler: str | None = None) -> dict[str, Any]:
    """A server's own ``logging.config.dictConfig`` with every formatter replaced by ``JsonFormatter``;
    with ``root_handler``, the root logger writes through that handler too, so loggers that
    propagate (ours) are not left to Python's plain-text last resort."""
    json_config = copy.deepcopy(dict(config))
    json_config["formatters"] = {name: {"()": f"{__name__}.JsonFormatter"} for name in json_config["formatters"]}
    if root_handler is not None:
        json_config["root"] = {"handlers": [root_handler], "level": "INFO"}
    return json_config


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration in JSON (the collector)."""
    from uvicorn.config import LOGGING_CONFIG

    return json_log_config(LOGGING_CONFIG)

"""LEADSCORE_LOG_FORMAT=json: the formatter, the switch, and the operator's kopf log format."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from leadscore.logs import JsonFormatter, json_wanted


def test_json_formatter_writes_one_object_with_the_exception() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("leadscore", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert (entry["level"], entry["logger"], entry["message"]) == ("error", "leadscore", "failed x")
    assert "ValueError: boom" in entry["exception"] and entry["time"].endswith("+00:00")


def test_the_switch_reads_the_environment() -> None:
    assert json_wanted({"LEADSCORE_LOG_FORMAT": "JSON"})
    assert not json_wanted({"LEADSCORE_LOG_FORMAT": "text"}) and not json_wanted({})


@pytest.mark.parametrize(("value", "json_lines"), [("json", True), ("", False)])
def test_the_operator_configures_kopfs_json_format_when_asked(monkeypatch, value: str, json_lines: bool) -> None:
    import kopf

    from leadscore.operator.main import kopf_log_format

    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    monkeypatch.setenv("LEADSCORE_LOG_FORMAT", value)
    try:
        kopf.configure(log_format=kopf_log_format())  # what run_operator does before kopf.run
        formatter = root.handlers[-1].formatter
        assert ("Json" in type(formatter).__name__) is json_lines
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])

"""The demo's output read from a pipe or a log: tables whole on one line per row, paths not reprs."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest

from leadscore import demo
from leadscore.api.summary import ArmSummary, DailyArmCount, ExperimentSummary


@pytest.fixture
def piped(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    stream = io.StringIO()
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(demo, "console", demo.make_console(stream))
    return stream


def scored_leads() -> list[dict[str, object]]:
    tiers = {"high": "immediate_agent_assignment_with_a_long_name", "medium": "standard_routing",
             "low": "automated_nurture_sequence", "very_low": "archive_and_quarterly_reengagement"}
    return [{"arm": "treatment", "tier": tier, "action": action, "converted": i % 3 == 0}
            for i, (tier, action) in enumerate(list(tiers.items()) * 3)]


def ab_summary(days: int = 10) -> ExperimentSummary:
    daily = [DailyArmCount(day=date(2026, 11, 1) + timedelta(days=d), arm=arm, exposures=1000, conversions=conversions)
             for d in range(days) for arm, conversions in (("control", 100), ("treatment", 130))]
    arms = {arm: ArmSummary(model_version=version, exposures=1000 * days, conversions=per_day * days)
            for arm, version, per_day in (("control", "rules", 100), ("treatment", "v1", 130))}
    return ExperimentSummary(namespace="demo", experiment="rules-vs-v1", arms=arms, daily=daily)


def test_a_piped_console_is_wider_than_rich_s_80_columns(piped: io.StringIO) -> None:
    assert not demo.console.is_terminal
    assert demo.console.width == demo.LOG_WIDTH


def test_sales_table_rows_stay_on_one_line_when_piped(piped: io.StringIO) -> None:
    demo.print_sales_report(scored_leads(), {"explanations": []})
    lines = piped.getvalue().splitlines()
    for action in ("immediate_agent_assignment_with_a_long_name", "archive_and_quarterly_reengagement"):
        row = [line for line in lines if action in line]
        assert len(row) == 1, piped.getvalue()
        assert "33.3%" in row[0] or "0.0%" in row[0] or "100.0%" in row[0]
    table = [line for line in lines if line.startswith(("┃", "│", "┏", "┡", "└"))]
    assert table and max(map(len, lines)) <= max(demo.RULE_WIDTH, max(map(len, table)))
    assert "\x1b[" not in piped.getvalue()


def test_experiment_report_prints_paths_not_a_repr(piped: io.StringIO, tmp_path: Path) -> None:
    fields = demo.experiment_report(ab_summary(), tmp_path, days=10)
    out = piped.getvalue()
    assert "ReportFiles(" not in out and "PosixPath(" not in out
    assert f"report: {tmp_path / 'ab-report.html'} (chart: {tmp_path / 'ab-report.png'})" in out
    assert f'"decision": "{fields["decision"]}"' in out
    assert max(map(len, out.splitlines())) <= demo.LOG_WIDTH

"""`make demo`'s static console snapshot opens in headless chromium with its charts drawn."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from leadscore.api.summary import ArmSummary, DailyArmCount, ExperimentSummary
from leadscore.demo import DemoOptions, console_snapshot
from support.console import browser, train_card

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _summary() -> ExperimentSummary:
    daily = [DailyArmCount(day=date(2026, 11, day), arm=arm, exposures=300,
                           conversions=30 + (6 if arm == "treatment" else 0) + day % 3)
             for day in range(1, 15) for arm in ("control", "treatment")]
    arms = {arm: ArmSummary(model_version=version, exposures=sum(r.exposures for r in daily if r.arm == arm),
                            conversions=sum(r.conversions for r in daily if r.arm == arm))
            for arm, version in (("control", "rules"), ("treatment", "v1"))}
    return ExperimentSummary(namespace="demo", experiment="demo-rules-vs-model", arms=arms, daily=daily)


def test_snapshot_pages_render_the_demo_model_and_experiment_offline(tmp_path: Path) -> None:
    model = train_card(tmp_path)

    pages = console_snapshot(DemoOptions(workdir=tmp_path / "demo"), model, _summary())

    with browser() as chromium:
        page = chromium.new_page(viewport={"width": 1366, "height": 900})
        page.goto(pages[0].as_uri())
        assert page.locator("#versions tbody tr").count() == 1
        assert "static snapshot" in page.inner_text("#why-disabled")
        for chart, points in (("chart-drivers", 10), ("chart-metrics", 5)):
            page.wait_for_function(f"document.getElementById('{chart}').data")
            assert page.evaluate(f"document.getElementById('{chart}').data[0].x.length") == points
        page.goto(pages[1].as_uri())
        page.wait_for_function("document.getElementById('chart-timeline').data")
        assert page.evaluate("document.getElementById('chart-timeline').data[1].x.length") == 14
        assert "4200 leads" in page.inner_text("#stats")

"""The report: an HTML page naming the decision and a valid PNG beside it."""

from __future__ import annotations

import html
import struct
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from leadscore.api.summary import ArmSummary, DailyArmCount, ExperimentSummary
from leadscore.experiments import ExperimentSettings, decide
from leadscore.experiments.formatting import percent
from leadscore.experiments.report import render_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def daily_summary(seed: int = 1, days: int = 10) -> ExperimentSummary:
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(days):
        for arm, rate in (("control", 0.10), ("treatment", 0.13)):
            exposures = int(rng.integers(800, 1200))
            rows.append(
                DailyArmCount(
                    day=date(2026, 11, 1) + timedelta(days=d),
                    arm=arm,
                    exposures=exposures,
                    conversions=int(rng.binomial(exposures, rate)),
                )
            )
    arms = {
        arm: ArmSummary(
            model_version=version,
            exposures=sum(r.exposures for r in rows if r.arm == arm),
            conversions=sum(r.conversions for r in rows if r.arm == arm),
        )
        for arm, version in (("control", "rules"), ("treatment", "v3"))
    }
    return ExperimentSummary(namespace="sales", experiment="rules-vs-v3", arms=arms, daily=rows)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_render_report_writes_html_with_the_decision_and_a_png(tmp_path: Path) -> None:
    summary = daily_summary()
    analysis = decide(summary, ExperimentSettings(minimum_detectable_effect=0.1), elapsed=timedelta(days=10))
    files = render_report(summary, analysis, tmp_path / "report.html")
    page = files.html.read_text()
    assert analysis.decision == "promote"
    assert f'<span class="decision" id="decision">{analysis.decision}</span>' in page
    assert html.escape(analysis.reason) in page
    assert "data:image/png;base64," in page
    assert files.png == tmp_path / "report.png"
    width, height = png_size(files.png)
    assert width >= 800 and height >= 600


def test_render_report_draws_a_single_look_without_daily_counts(tmp_path: Path) -> None:
    summary = daily_summary().model_copy(update={"daily": []})
    analysis = decide(summary, ExperimentSettings(sequential=False), elapsed=timedelta(days=3), final=True)
    files = render_report(summary, analysis, tmp_path / "nested" / "r.html")
    assert "p-value (pooled z-test)" in files.html.read_text()
    assert png_size(files.png)[0] > 0


@pytest.mark.parametrize("sequential", [True, False])
def test_render_report_explains_the_method_in_use(tmp_path: Path, sequential: bool) -> None:
    summary = daily_summary(days=3)
    analysis = decide(summary, ExperimentSettings(sequential=sequential), elapsed=timedelta(days=3))
    page = render_report(summary, analysis, tmp_path / "r.html").html.read_text()
    assert ("stay valid however often" in page) is sequential
    assert ("valid only once, at the planned sample size" in page) is not sequential


def test_render_report_labels_value_per_lead_when_value_decides(tmp_path: Path) -> None:
    arms = {
        name: ArmSummary(model_version=name, exposures=4000, conversions=400, value_sum=total, value_sum_sq=squares)
        for name, total, squares in (("control", 40000.0, 4_000_000.0), ("treatment", 46000.0, 4_600_000.0))
    }
    summary = ExperimentSummary(namespace="sales", experiment="value", arms=arms)
    analysis = decide(summary, ExperimentSettings(metric="value", sequential=False), elapsed=timedelta(1), final=True)
    page = render_report(summary, analysis, tmp_path / "r.html").html.read_text()
    assert "difference in value per lead" in page
    assert "earns more per lead" in page


def test_render_report_shows_the_variance_removed_when_adjusted(tmp_path: Path) -> None:
    summary = daily_summary()
    arms = {
        name: arm.model_copy(
            update={
                "covariate_count": arm.exposures,
                "covariate_sum": 0.1 * arm.exposures,
                "covariate_sum_sq": 0.02 * arm.exposures,
                "covariate_conversion_sum": 0.03 * arm.conversions + 0.005 * arm.exposures,
            }
        )
        for name, arm in summary.arms.items()
    }
    adjusted = summary.model_copy(update={"arms": arms})
    analysis = decide(adjusted, ExperimentSettings(minimum_detectable_effect=0.1), elapsed=timedelta(days=10))
    assert analysis.variance_reduction == "applied"
    page = render_report(adjusted, analysis, tmp_path / "r.html").html.read_text()
    assert "adjusted for the control model&#39;s score" in page or "adjusted for the control model's score" in page
    assert f'<td id="variance-reduction">{percent(analysis.variance_reduction_share)}</td>' in page


def test_render_report_explains_the_planned_design(tmp_path: Path) -> None:
    summary = daily_summary(days=3)
    settings = ExperimentSettings(alpha_spending="obrien-fleming", expected_samples_per_arm=50000)
    analysis = decide(summary, settings, elapsed=timedelta(days=3))
    page = render_report(summary, analysis, tmp_path / "r.html").html.read_text()
    assert "repeated p-value (alpha spending)" in page
    assert "group-sequential" in page


def test_report_and_status_show_each_arm_s_mean_score_and_hours_to_conversion(tmp_path: Path) -> None:
    from leadscore.experiments.decision import status_fields

    summary = daily_summary()
    summary.arms["treatment"] = summary.arms["treatment"].model_copy(update={
        "score_count": 4, "score_sum": 250.0, "conversion_time_count": 10, "conversion_seconds_sum": 54000})
    analysis = decide(summary, ExperimentSettings(minimum_detectable_effect=0.1), elapsed=timedelta(days=10))
    assert (analysis.treatment.mean_score, analysis.treatment.mean_hours_to_conversion) == (62.5, 1.5)
    fields = status_fields(analysis)
    assert (fields["treatment"]["meanScore"], fields["treatment"]["meanHoursToConversion"]) == (62.5, 1.5)
    assert fields["control"]["meanScore"] is None
    page = render_report(summary, analysis, tmp_path / "report.html").html.read_text()
    assert '<td class="mean-score">62.5</td>' in page and '<td class="hours-to-conversion">1.5</td>' in page
    assert '<td class="mean-score">—</td>' in page and '<td class="hours-to-conversion">—</td>' in page


def test_report_status_and_cli_table_show_each_arm_s_lead_acceptance_rate(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from leadscore.cli.experiment import _print_analysis
    from leadscore.experiments.decision import status_fields

    summary = daily_summary()
    summary.arms["control"] = summary.arms["control"].model_copy(update={"acceptance_reports": 8, "accepted": 6})
    analysis = decide(summary, ExperimentSettings(minimum_detectable_effect=0.1), elapsed=timedelta(days=10))
    assert (analysis.control.acceptance_reports, analysis.control.acceptance_rate) == (8, 0.75)
    fields = status_fields(analysis)
    assert (fields["control"]["acceptanceRate"], fields["treatment"]["acceptanceRate"]) == (0.75, None)
    page = render_report(summary, analysis, tmp_path / "report.html").html.read_text()
    assert '<td class="acceptance-rate">75.00%</td>' in page and '<td class="acceptance-rate">—</td>' in page
    _print_analysis(analysis, as_json=False)
    assert "75.00%" in capsys.readouterr().out

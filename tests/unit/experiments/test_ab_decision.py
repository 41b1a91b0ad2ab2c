"""The decision rule: halted, continue, promote, rollback, inconclusive, each with its reason."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from leadscore.api.abexperiment import ABExperimentSpec, ABExperimentStatus
from leadscore.api.summary import ArmSummary, DailyArmCount, ExperimentSummary
from leadscore.errors import InvalidInputError
from leadscore.experiments.decision import decide, status_fields
from leadscore.experiments.settings import ExperimentSettings, parse_duration

DAY = timedelta(days=1)


def summary(control: tuple[int, int], treatment: tuple[int, int], daily: list[DailyArmCount] | None = None):
    return ExperimentSummary(
        namespace="sales",
        experiment="v2-vs-v3",
        arms={
            "control": ArmSummary(model_version="v2", exposures=control[0], conversions=control[1]),
            "treatment": ArmSummary(model_version="v3", exposures=treatment[0], conversions=treatment[1]),
        },
        daily=daily or [],
    )


def test_decide_halts_on_sample_ratio_mismatch_even_with_a_winner() -> None:
    analysis = decide(summary((5300, 500), (4700, 700)), ExperimentSettings(), elapsed=DAY)
    assert analysis.decision == "halted"
    assert analysis.reason.startswith("sample ratio mismatch: 5300 control vs 4700 treatment exposures for a 50/50")
    assert analysis.srm_p_value < 0.001


def test_decide_accepts_an_uneven_split_that_matches_the_configuration() -> None:
    analysis = decide(summary((8000, 800), (2000, 200)), ExperimentSettings(traffic_percent=20), elapsed=DAY)
    assert analysis.decision != "halted"
    assert analysis.srm_p_value == pytest.approx(1.0)


def test_decide_continues_when_an_arm_has_too_little_data() -> None:
    analysis = decide(summary((80, 8), (80, 20)), ExperimentSettings(min_samples_per_arm=100), elapsed=DAY)
    assert analysis.decision == "continue"
    assert "80 of the 100 exposures per arm" in analysis.reason
    assert analysis.lift == pytest.approx(1.5)


def test_decide_continues_when_an_arm_is_still_empty() -> None:
    analysis = decide(summary((0, 0), (0, 0)), ExperimentSettings(), elapsed=timedelta(0))
    assert analysis.decision == "continue"
    assert analysis.p_value is None
    assert analysis.control.rate is None


def test_decide_halts_with_too_little_data_at_max_duration() -> None:
    settings = ExperimentSettings(min_samples_per_arm=1000, max_duration="14d")
    analysis = decide(summary((600, 60), (590, 70)), settings, elapsed=14 * DAY)
    assert analysis.decision == "halted"
    assert analysis.reason.startswith("stopped with too little data: the treatment arm has 590 exposures")
    assert "at the maximum duration (14 days)" in analysis.reason


def test_decide_is_inconclusive_at_max_duration_without_a_significant_difference() -> None:
    settings = ExperimentSettings(max_duration="14d")
    analysis = decide(summary((3000, 300), (3000, 310)), settings, elapsed=15 * DAY)
    assert analysis.decision == "inconclusive"
    assert analysis.reason.startswith("no significant difference at the maximum duration (14 days)")
    assert analysis.final


def test_decide_promotes_a_clearly_better_treatment_when_sequential() -> None:
    analysis = decide(summary((20000, 2000), (20000, 2400)), ExperimentSettings(), elapsed=5 * DAY)
    assert analysis.decision == "promote"
    assert analysis.reason.startswith("treatment converts better: 12.00% vs 10.00% conversion, lift +20.0%")
    assert analysis.p_value is not None and analysis.p_value <= 0.05
    assert analysis.lift_ci_low is not None and analysis.lift_ci_low > 0


def test_decide_rolls_back_a_clearly_worse_treatment_when_sequential() -> None:
    analysis = decide(summary((20000, 2400), (20000, 2000)), ExperimentSettings(), elapsed=5 * DAY)
    assert analysis.decision == "rollback"
    assert analysis.reason.startswith("treatment converts worse")
    assert analysis.lift_ci_high is not None and analysis.lift_ci_high < 0


def test_decide_is_inconclusive_when_the_interval_rules_out_the_mde() -> None:
    settings = ExperimentSettings(minimum_detectable_effect=0.1)
    analysis = decide(summary((200000, 20000), (200000, 20050)), settings, elapsed=10 * DAY)
    assert analysis.decision == "inconclusive"
    assert analysis.reason.startswith("no difference worth having")
    assert -0.1 < analysis.lift_ci_low < analysis.lift_ci_high < 0.1


def test_decide_keeps_running_a_sequential_test_without_evidence() -> None:
    analysis = decide(summary((3000, 300), (3000, 330)), ExperimentSettings(), elapsed=3 * DAY)
    assert analysis.decision == "continue"
    assert analysis.reason.startswith("no significant difference yet")


def test_decide_waits_for_the_planned_sample_size_when_fixed() -> None:
    settings = ExperimentSettings(sequential=False, minimum_detectable_effect=0.2)
    analysis = decide(summary((1000, 100), (1000, 150)), settings, elapsed=3 * DAY)
    assert analysis.decision == "continue"
    assert analysis.planned_per_arm == 3835
    assert "1000 of the planned 3835 exposures per arm" in analysis.reason


def test_decide_reads_a_fixed_test_at_its_planned_sample_size() -> None:
    settings = ExperimentSettings(sequential=False, minimum_detectable_effect=0.2, baseline_rate=0.1)
    analysis = decide(summary((3835, 384), (3835, 470)), settings, elapsed=9 * DAY)
    assert analysis.decision == "promote"
    assert analysis.reason.endswith("<= alpha 0.05")


def test_decide_reads_a_fixed_test_early_when_the_caller_says_final() -> None:
    analysis = decide(summary((1000, 150), (1000, 195)), ExperimentSettings(sequential=False), elapsed=DAY, final=True)
    assert analysis.decision == "promote"
    assert analysis.p_value == pytest.approx(0.007738, abs=1e-6)


def test_decide_waits_for_the_minimum_duration_before_promoting() -> None:
    settings = ExperimentSettings(min_duration="14d")
    analysis = decide(summary((20000, 2000), (20000, 2400)), settings, elapsed=3 * DAY)
    assert analysis.decision == "continue"
    assert analysis.reason.startswith("waiting for the minimum duration: 3 days of 14 days")


def test_decide_p_value_is_the_running_minimum_over_daily_looks() -> None:
    # An early burst for the treatment that later washes out: the always-valid p-value keeps the
    # evidence it once saw (and the interval stays the intersection of every look's).
    daily = [
        DailyArmCount(day=date(2026, 11, 1), arm="control", exposures=2000, conversions=150),
        DailyArmCount(day=date(2026, 11, 1), arm="treatment", exposures=2000, conversions=260),
        DailyArmCount(day=date(2026, 11, 2), arm="control", exposures=2000, conversions=250),
        DailyArmCount(day=date(2026, 11, 2), arm="treatment", exposures=2000, conversions=140),
    ]
    with_history = decide(summary((4000, 400), (4000, 400), daily), ExperimentSettings(), elapsed=2 * DAY)
    snapshot_only = decide(summary((4000, 400), (4000, 400)), ExperimentSettings(), elapsed=2 * DAY)
    assert with_history.looks == 3
    assert with_history.p_value < snapshot_only.p_value
    assert with_history.lift_ci_low > snapshot_only.lift_ci_low


def test_decide_refuses_a_missing_arm() -> None:
    only_one = ExperimentSummary(namespace="n", experiment="e", arms={"control": ArmSummary(exposures=5)})
    with pytest.raises(InvalidInputError, match=r"^arms: expected arms control and treatment, got control$"):
        decide(only_one, ExperimentSettings(), elapsed=DAY)


def test_decide_refuses_more_conversions_than_exposures() -> None:
    with pytest.raises(InvalidInputError, match=r"^treatment.conversions: 120 exceeds exposures \(100\)$"):
        decide(summary((100, 10), (100, 120)), ExperimentSettings(), elapsed=DAY)


def test_decide_refuses_negative_elapsed_time() -> None:
    with pytest.raises(InvalidInputError, match=r"^elapsed: must not be negative"):
        decide(summary((100, 10), (100, 12)), ExperimentSettings(), elapsed=-DAY)


def test_decide_refuses_daily_counts_of_an_unknown_arm() -> None:
    daily = [DailyArmCount(day=date(2026, 11, 1), arm="v3", exposures=10, conversions=1)]
    with pytest.raises(InvalidInputError, match=r"^daily.arm: expected 'control' or 'treatment', got 'v3'$"):
        decide(summary((100, 10), (100, 12), daily), ExperimentSettings(), elapsed=DAY)


def test_decide_reports_value_per_lead_when_values_are_present() -> None:
    data = summary((1000, 100), (1000, 120))
    data.arms["control"].value_sum, data.arms["control"].value_sum_sq = 10000.0, 2_000_000.0
    data.arms["treatment"].value_sum, data.arms["treatment"].value_sum_sq = 13000.0, 2_600_000.0
    analysis = decide(data, ExperimentSettings(), elapsed=DAY)
    assert analysis.value is not None
    assert analysis.value.difference == pytest.approx(3.0)
    assert analysis.treatment.value_per_lead == pytest.approx(13.0)


def test_status_fields_validate_as_abexperiment_status() -> None:
    analysis = decide(summary((20000, 2000), (20000, 2400)), ExperimentSettings(), elapsed=5 * DAY)
    fields = status_fields(analysis)
    status = ABExperimentStatus.model_validate(fields)
    assert status.decision == "promote"
    assert status.control is not None and status.control.version == "v2"
    assert status.treatment is not None and status.treatment.rate == pytest.approx(0.12)
    assert status.lift_lower == analysis.lift_ci_low
    assert status.decision_reason == analysis.reason


def test_status_fields_leave_decision_empty_while_running() -> None:
    analysis = decide(summary((80, 8), (80, 9)), ExperimentSettings(), elapsed=DAY)
    assert status_fields(analysis)["decision"] is None
    assert status_fields(analysis)["decisionReason"].startswith("collecting data")


def test_settings_read_an_abexperiment_spec() -> None:
    spec = {
        "modelRef": "pc",
        "alpha": 0.01,
        "minimumDetectableEffect": 0.1,
        "minSamplesPerArm": 500,
        "sequential": False,
        "maxDuration": "1d12h",
        "minDuration": "1d",
        "minimumLift": 0.02,
        "trafficPercent": 20,
    }
    ABExperimentSpec.model_validate({**spec, "control": {"version": "v1"}, "treatment": {"version": "v2"}})
    settings = ExperimentSettings.model_validate(spec)
    assert (settings.max_duration, settings.min_duration) == (timedelta(hours=36), timedelta(days=1))
    assert settings.minimum_lift == 0.02
    assert (settings.alpha, settings.min_samples_per_arm, settings.treatment_share) == (0.01, 500, 0.2)


def test_parse_duration_refuses_an_unknown_unit() -> None:
    with pytest.raises(ValueError, match="expected a duration such as 14d"):
        parse_duration("2w")


def valued(control: tuple[int, float, float], treatment: tuple[int, float, float]) -> ExperimentSummary:
    """Arms as (exposures, value sum, value sum of squares); conversions are not what decides."""
    return ExperimentSummary(
        namespace="sales",
        experiment="value",
        arms={
            name: ArmSummary(model_version=version, exposures=n, conversions=n // 10, value_sum=s, value_sum_sq=ss)
            for name, version, (n, s, ss) in (("control", "v2", control), ("treatment", "v3", treatment))
        },
    )


def test_decide_promotes_on_value_per_lead_with_welch_when_fixed() -> None:
    data = valued((4000, 40000.0, 4_000_000.0), (4000, 46000.0, 4_600_000.0))
    settings = ExperimentSettings(metric="value", sequential=False)
    analysis = decide(data, settings, elapsed=DAY, final=True)
    assert analysis.decision == "promote"
    assert analysis.reason.startswith("treatment earns more per lead: 11.50 vs 10.00 value per lead, lift +15.0%")
    assert analysis.value is not None and analysis.p_value == pytest.approx(analysis.value.p_value)
    assert status_fields(analysis)["treatment"]["rate"] == pytest.approx(11.5)


def test_decide_keeps_running_a_sequential_value_test_without_evidence() -> None:
    data = valued((4000, 40000.0, 4_000_000.0), (4000, 40400.0, 4_040_000.0))
    analysis = decide(data, ExperimentSettings(metric="value", min_samples_per_arm=100),
                        elapsed=DAY)
    assert analysis.decision == "continue"
    assert analysis.metric == "value"
    assert analysis.p_value is not None and analysis.p_value > 0.05


def test_decide_rolls_back_on_value_when_sequential_and_clearly_worse() -> None:
    data = valued((40000, 400000.0, 40_000_000.0), (40000, 300000.0, 30_000_000.0))
    analysis = decide(data, ExperimentSettings(metric="value", min_samples_per_arm=100),
                        elapsed=DAY)
    assert analysis.decision == "rollback"
    assert analysis.lift_ci_high is not None and analysis.lift_ci_high < 0


def test_decide_waits_for_outcome_values_when_metric_is_value() -> None:
    analysis = decide(summary((500, 50), (500, 60)), ExperimentSettings(metric="value", min_samples_per_arm=100),
                        elapsed=DAY)
    assert analysis.decision == "continue"
    assert analysis.reason == "waiting for outcome values: none vary in either arm yet"


def test_decide_reports_zero_value_for_an_arm_without_revenue() -> None:
    data = valued((4000, 0.0, 0.0), (4000, 46000.0, 4_600_000.0))
    analysis = decide(data, ExperimentSettings(metric="value", sequential=False), elapsed=DAY, final=True)
    assert analysis.control.value_per_lead == 0.0
    assert analysis.decision == "promote"
    assert status_fields(analysis)["lift"] is None


@pytest.mark.parametrize(
    ("treatment", "minimum_lift", "final", "decision"),
    [
        ((100_000, 10_800), 0.0, False, "promote"),       # +8 %, significant, no bar
        ((100_000, 10_800), 0.05, False, "promote"),      # +8 % clears +5 %
        ((100_000, 10_800), 0.30, False, "inconclusive"),  # the whole interval is below +30 %
        ((100_000, 10_800), 0.09, False, "continue"),     # below +9 % now, the interval still reaches it
        ((100_000, 10_800), 0.09, True, "inconclusive"),  # ... and at the last look it keeps the control
    ],
)
def test_decide_promotes_only_a_lift_that_clears_the_minimum(
    treatment: tuple[int, int], minimum_lift: float, final: bool, decision: str
) -> None:
    settings = ExperimentSettings(minimum_lift=minimum_lift, max_duration=None)
    analysis = decide(summary((100_000, 10_000), treatment), settings, elapsed=30 * DAY, final=final)
    assert analysis.decision == decision
    if decision != "promote":
        assert f"by less than the +{minimum_lift:.1%} required to switch" in analysis.reason

"""decide() with the pre-treatment covariate (CUPED/CUPAC) and with the planned design."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from leadscore.api.abexperiment import ABExperimentSpec, ABExperimentStatus
from leadscore.api.summary import ArmSummary, DailyArmCount, ExperimentSummary
from leadscore.experiments.adjustment import ArmMoments, adjusted_difference
from leadscore.experiments.decision import decide, status_fields
from leadscore.experiments.settings import ExperimentSettings

DAY = timedelta(days=1)


def _leads(n: int, lift: float, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per arm: (conversions 0/1, control model score) of n leads; the score predicts conversion."""
    rng = np.random.default_rng(seed)
    arms = {}
    for name, factor in (("control", 1.0), ("treatment", 1 + lift)):
        score = rng.beta(2, 12, size=n)
        arms[name] = ((rng.random(n) < np.clip(score * 0.9 * factor, 0, 1)).astype(float), score)
    return arms


def _sums(converted: np.ndarray, score: np.ndarray, with_covariate: bool = True) -> dict:
    counts = {"exposures": int(converted.size), "conversions": int(converted.sum())}
    if with_covariate:
        counts |= {
            "covariate_count": int(score.size),
            "covariate_sum": float(score.sum()),
            "covariate_sum_sq": float((score**2).sum()),
            "covariate_conversion_sum": float(score @ converted),
        }
    return counts


def _summary(arms: dict, days: int = 1, with_covariate: bool = True) -> ExperimentSummary:
    daily = []
    for name, (converted, score) in arms.items():
        for day, rows in enumerate(np.array_split(np.arange(converted.size), days)):
            daily.append(DailyArmCount(day=date(2026, 11, 1 + day), arm=name,
                                       **_sums(converted[rows], score[rows], with_covariate)))  # fmt: skip
    return ExperimentSummary(
        namespace="sales",
        experiment="v2-vs-v3",
        arms={name: ArmSummary(model_version=name, **_sums(*arm, with_covariate)) for name, arm in arms.items()},
        daily=daily,
    )


def test_adjusted_statistics_decide_when_every_exposure_carries_the_score() -> None:
    arms = _leads(6000, 0.15, seed=7)
    analysis = decide(_summary(arms, days=6), ExperimentSettings(minimum_detectable_effect=0.1), elapsed=6 * DAY)
    assert analysis.variance_reduction == "applied"
    expected = adjusted_difference(*(ArmMoments.from_values(*arms[name]) for name in ("control", "treatment")))
    assert analysis.adjusted_lift == pytest.approx(float(expected.lift))
    assert analysis.variance_reduction_share == pytest.approx(float(expected.variance_reduction))
    assert 0.03 < analysis.variance_reduction_share < 0.4
    assert analysis.adjusted_lift_ci_low < analysis.adjusted_lift < analysis.adjusted_lift_ci_high
    assert "adjusted for the control model's score" in analysis.reason
    # the adjusted interval is narrower than the raw one
    raw_width = analysis.lift_ci_high - analysis.lift_ci_low
    assert analysis.adjusted_lift_ci_high - analysis.adjusted_lift_ci_low < raw_width


def test_variance_reduction_off_decides_on_raw_counts() -> None:
    arms = _leads(6000, 0.15, seed=7)
    settings = ExperimentSettings(minimum_detectable_effect=0.1, variance_reduction="off")
    analysis = decide(_summary(arms, days=6), settings, elapsed=6 * DAY)
    assert analysis.variance_reduction == "off"
    assert analysis.adjusted_lift is None
    assert "adjusted" not in analysis.reason


def test_missing_scores_make_the_adjustment_unavailable_and_say_so() -> None:
    summary = _summary(_leads(3000, 0.0, seed=8), with_covariate=False)
    analysis = decide(summary, ExperimentSettings(), elapsed=DAY)
    assert analysis.variance_reduction == "unavailable"
    fields = status_fields(analysis)
    assert fields["varianceReduction"] == "unavailable"
    assert fields["adjustedLift"] is None


def test_status_carries_the_adjusted_lift_and_validates() -> None:
    analysis = decide(_summary(_leads(4000, 0.2, seed=9), days=4), ExperimentSettings(), elapsed=4 * DAY)
    fields = status_fields(analysis)
    status = ABExperimentStatus.model_validate(fields)
    assert status.variance_reduction == "applied"
    assert status.adjusted_lift == pytest.approx(analysis.adjusted_lift)
    assert status.variance_reduction_share == pytest.approx(analysis.variance_reduction_share)


def test_the_cr_spec_reaches_the_settings() -> None:
    spec = ABExperimentSpec.model_validate(
        {
            "modelRef": "sales",
            "control": {"version": "v1"},
            "treatment": {"version": "v2"},
            "varianceReduction": "off",
            "expectedSamplesPerArm": 20000,
            "alphaSpending": "pocock",
        }
    )
    settings = ExperimentSettings.model_validate(spec.to_wire())
    assert settings.variance_reduction == "off"
    assert settings.mixing.expected_per_arm == 20000
    assert settings.design == "planned" and settings.alpha_spending == "pocock"


def test_planned_design_continues_until_a_boundary_is_crossed_then_promotes() -> None:
    settings = ExperimentSettings(
        alpha_spending="obrien-fleming", expected_samples_per_arm=8000, minimum_detectable_effect=0.1,
        min_samples_per_arm=100,
    )
    early = decide(_summary(_leads(800, 0.3, seed=10)), settings, elapsed=DAY)
    assert early.design == "planned"
    assert early.decision == "continue"
    assert early.information == pytest.approx(0.1)
    assert "group-sequential test at 10% of its planned maximum" in early.reason
    late = decide(_summary(_leads(6000, 0.3, seed=10), days=6), settings, elapsed=6 * DAY)
    assert late.decision == "promote"
    assert late.p_value <= 0.05
    assert "repeated p" in late.reason


def test_planned_design_is_inconclusive_at_its_maximum_without_a_crossing() -> None:
    settings = ExperimentSettings(
        alpha_spending="obrien-fleming", expected_samples_per_arm=3000, variance_reduction="off"
    )
    analysis = decide(_summary(_leads(3000, 0.0, seed=11), days=3), settings, elapsed=3 * DAY)
    assert analysis.information == pytest.approx(1.0)
    assert analysis.decision in ("inconclusive", "promote", "rollback")
    assert (analysis.decision == "inconclusive") == (analysis.p_value > 0.05)


def test_planned_design_refuses_the_value_metric() -> None:
    with pytest.raises(ValueError, match="alphaSpending: the group-sequential design supports metric conversion"):
        ExperimentSettings(alpha_spending="pocock", metric="value")


def test_planned_design_waits_while_no_maximum_can_be_planned() -> None:
    summary = ExperimentSummary(
        namespace="sales",
        experiment="g",
        arms={
            "control": ArmSummary(exposures=200, conversions=0),
            "treatment": ArmSummary(exposures=200, conversions=3),
        },
    )
    analysis = decide(summary, ExperimentSettings(alpha_spending="pocock", min_samples_per_arm=100), elapsed=DAY)
    assert analysis.decision == "continue"
    assert "waiting for a control rate to plan the maximum size" in analysis.reason
    assert analysis.p_value == 1.0 and analysis.information == 0.0

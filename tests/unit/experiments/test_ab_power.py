"""Power planning agrees with statsmodels' NormalIndPower on Cohen's h."""

from __future__ import annotations

import itertools
import math

import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from leadscore.errors import InvalidInputError
from leadscore.experiments.power import normal_power, plan_experiment, plan_mean_experiment

BASELINES = [0.02, 0.1, 0.15, 0.4]
MDES = [0.05, 0.1, 0.3]
ALPHAS = [0.01, 0.05]
POWERS = [0.8, 0.9]


@pytest.mark.parametrize(
    ("baseline", "mde", "alpha", "power"), list(itertools.product(BASELINES, MDES, ALPHAS, POWERS))
)
def test_plan_matches_statsmodels_normal_ind_power_when_two_sided(
    baseline: float, mde: float, alpha: float, power: float
) -> None:
    plan = plan_experiment(baseline, mde, alpha=alpha, power=power)
    h = proportion_effectsize(baseline * (1 + mde), baseline)
    expected = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=1.0)
    assert plan.effect_size == pytest.approx(h, abs=1e-12)
    # statsmodels' own root finder stops ~1e-11 short in power (~1e-9 relative in n), so the sizes
    # agree to 1e-6 relative, and ours is the exact root of statsmodels' power function.
    assert plan.per_arm_exact == pytest.approx(expected, rel=1e-6)
    assert NormalIndPower().power(h, plan.per_arm_exact, alpha) == pytest.approx(power, abs=1e-9)
    assert plan.per_arm == math.ceil(expected)


@pytest.mark.parametrize(("alternative", "sm_alternative", "sign"), [("greater", "larger", 1), ("less", "smaller", -1)])
def test_plan_matches_statsmodels_when_one_sided(alternative: str, sm_alternative: str, sign: int) -> None:
    plan = plan_experiment(0.12, 0.1, alpha=0.05, power=0.8, alternative=alternative)
    h = proportion_effectsize(0.12 * (1 + sign * 0.1), 0.12)
    expected = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, alternative=sm_alternative)
    assert plan.per_arm_exact == pytest.approx(expected, rel=1e-6)


def test_plan_matches_statsmodels_ratio_when_split_is_uneven() -> None:
    plan = plan_experiment(0.1, 0.2, treatment_share=0.2)
    h = proportion_effectsize(0.12, 0.1)
    expected = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=0.25)
    assert plan.per_arm_exact == pytest.approx(expected, rel=1e-6)
    assert plan.treatment_per_arm == math.ceil(expected * 0.25)
    assert plan.total == plan.per_arm + plan.treatment_per_arm


def test_plan_expected_days_divides_total_by_daily_exposures() -> None:
    plan = plan_experiment(0.1, 0.1, daily_exposures=1000)
    assert plan.expected_days == pytest.approx(plan.total / 1000)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"baseline": 0.0, "minimum_detectable_effect": 0.1},
            "baseline: a conversion rate strictly between 0 and 1",
        ),
        (
            {"baseline": 0.1, "minimum_detectable_effect": -0.1},
            "minimum_detectable_effect: a positive relative lift",
        ),
        (
            {"baseline": 0.6, "minimum_detectable_effect": 1.0},
            "minimum_detectable_effect: 1.0 moves baseline 0.6",
        ),
        ({"baseline": 0.1, "minimum_detectable_effect": 0.1, "power": 0.01}, "power: must lie between alpha"),
        (
            {"baseline": 0.1, "minimum_detectable_effect": 0.1, "daily_exposures": 0},
            "daily_exposures: must be",
        ),
    ],
)
def test_plan_refuses_bad_input_with_the_field_named(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidInputError, match=f"^{message}"):
        plan_experiment(**kwargs)


@pytest.mark.parametrize(("nobs1", "alternative"), [(50, "two-sided"), (1234.5, "two-sided"), (800, "larger")])
def test_normal_power_matches_statsmodels_power(nobs1: float, alternative: str) -> None:
    ours = normal_power(0.08, nobs1 / 2, 0.05, "greater" if alternative == "larger" else "two-sided")
    assert ours == pytest.approx(NormalIndPower().power(0.08, nobs1, 0.05, alternative=alternative), abs=1e-12)


def test_plan_mean_experiment_matches_statsmodels_with_cohens_d() -> None:
    plan = plan_mean_experiment(10.0, 30.0, 0.1, alpha=0.05, power=0.9)
    expected = NormalIndPower().solve_power(effect_size=10.0 * 0.1 / 30.0, alpha=0.05, power=0.9)
    assert plan.effect_size == pytest.approx(1 / 30)
    assert plan.per_arm_exact == pytest.approx(expected, rel=1e-6)


def test_plan_mean_experiment_refuses_a_non_positive_sd() -> None:
    with pytest.raises(InvalidInputError, match=r"^baseline_sd: a positive standard deviation, got 0"):
        plan_mean_experiment(10.0, 0.0, 0.1)

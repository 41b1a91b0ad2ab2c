"""The fixed-horizon z-test and its intervals agree with statsmodels on a grid of inputs."""

from __future__ import annotations

import itertools
import math
import re

import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

from leadscore.errors import InvalidInputError
from leadscore.experiments.proportions import (
    ArmCounts,
    difference_interval,
    lift_interval,
    relative_lift,
    two_proportion_ztest,
    wilson_interval,
)

GRID = [
    # (control exposures, control conversions, treatment exposures, treatment conversions)
    (1000, 150, 1000, 195),
    (1000, 150, 1000, 120),
    (50, 3, 70, 9),
    (20000, 2000, 19500, 2100),
    (333, 1, 401, 2),
    (10, 9, 12, 12),
    (5000, 250, 5000, 250),
    (120, 60, 80, 10),
]
ALPHAS = [0.01, 0.05, 0.1]
SIDES = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}


def arms(nc: int, kc: int, nt: int, kt: int) -> tuple[ArmCounts, ArmCounts]:
    return ArmCounts("control", nc, kc), ArmCounts("treatment", nt, kt)


@pytest.mark.parametrize(("counts", "alternative"), list(itertools.product(GRID, SIDES)))
def test_ztest_matches_statsmodels_when_pooled(counts: tuple[int, ...], alternative: str) -> None:
    nc, kc, nt, kt = counts
    ours = two_proportion_ztest(*arms(nc, kc, nt, kt), alternative=alternative)
    z, p = proportions_ztest([kt, kc], [nt, nc], alternative=SIDES[alternative])
    assert ours.z == pytest.approx(z, abs=1e-6)
    assert ours.p_value == pytest.approx(p, abs=1e-6)
    assert ours.difference == pytest.approx(kt / nt - kc / nc, abs=1e-12)


@pytest.mark.parametrize(("counts", "alpha"), list(itertools.product(GRID, ALPHAS)))
def test_difference_interval_matches_statsmodels_newcombe(counts: tuple[int, ...], alpha: float) -> None:
    nc, kc, nt, kt = counts
    ours = difference_interval(*arms(nc, kc, nt, kt), alpha=alpha)
    low, high = confint_proportions_2indep(kt, nt, kc, nc, method="newcomb", compare="diff", alpha=alpha)
    assert (ours.low, ours.high) == pytest.approx((low, high), abs=1e-6)


@pytest.mark.parametrize(("counts", "alpha"), list(itertools.product(GRID, ALPHAS)))
def test_difference_interval_one_sided_uses_the_matching_end_at_twice_alpha(
    counts: tuple[int, ...], alpha: float
) -> None:
    nc, kc, nt, kt = counts
    low, high = confint_proportions_2indep(kt, nt, kc, nc, method="newcomb", compare="diff", alpha=2 * alpha)
    greater = difference_interval(*arms(nc, kc, nt, kt), alpha=alpha, alternative="greater")
    less = difference_interval(*arms(nc, kc, nt, kt), alpha=alpha, alternative="less")
    assert (greater.low, greater.high) == pytest.approx((low, 1.0), abs=1e-6)
    assert (less.low, less.high) == pytest.approx((-1.0, high), abs=1e-6)


@pytest.mark.parametrize(("counts", "alpha"), list(itertools.product(GRID, ALPHAS)))
def test_lift_interval_matches_statsmodels_log_ratio_when_both_arms_convert(
    counts: tuple[int, ...], alpha: float
) -> None:
    nc, kc, nt, kt = counts
    ours = lift_interval(*arms(nc, kc, nt, kt), alpha=alpha)
    low, high = confint_proportions_2indep(kt, nt, kc, nc, method="log", compare="ratio", alpha=alpha)
    assert (ours.low, ours.high) == pytest.approx((low - 1, high - 1), abs=1e-6)


def test_lift_interval_uses_log_adjusted_when_an_arm_never_converts() -> None:
    ours = lift_interval(*arms(400, 0, 400, 7))
    low, high = confint_proportions_2indep(7, 400, 0, 400, method="log-adjusted", compare="ratio")
    assert (ours.low, ours.high) == pytest.approx((low - 1, high - 1), abs=1e-6)
    assert math.isfinite(ours.high)


def test_lift_interval_one_sided_is_open_above_when_greater() -> None:
    ours = lift_interval(*arms(1000, 150, 1000, 195), alternative="greater")
    low, _ = confint_proportions_2indep(195, 1000, 150, 1000, method="log", compare="ratio", alpha=0.1)
    assert ours.low == pytest.approx(low - 1, abs=1e-6)
    assert ours.high == math.inf


@pytest.mark.parametrize(("counts", "alpha"), list(itertools.product(GRID, ALPHAS)))
def test_wilson_interval_matches_statsmodels(counts: tuple[int, ...], alpha: float) -> None:
    nc, kc, _, _ = counts
    ours = wilson_interval(ArmCounts("control", nc, kc), alpha)
    assert (ours.low, ours.high) == pytest.approx(proportion_confint(kc, nc, alpha=alpha, method="wilson"), abs=1e-9)


def test_ztest_reports_no_evidence_when_nobody_converts() -> None:
    result = two_proportion_ztest(*arms(500, 0, 500, 0))
    assert (result.z, result.p_value) == (0.0, 1.0)


def test_relative_lift_is_treatment_over_control_minus_one() -> None:
    assert relative_lift(*arms(1000, 100, 1000, 120)) == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("exposures", "conversions", "message"),
    [
        (-1, 0, "control.exposures: must not be negative, got -1"),
        (10, -2, "control.conversions: must not be negative, got -2"),
        (10, 11, "control.conversions: 11 exceeds exposures (10)"),
        (10.5, 1, "control.exposures: expected a whole number, got 10.5"),
    ],
)
def test_arm_counts_refuses_impossible_counts_with_the_field_named(
    exposures: int, conversions: int, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=f"^{re.escape(message)}$"):
        ArmCounts("control", exposures, conversions)


def test_ztest_refuses_an_empty_arm() -> None:
    with pytest.raises(InvalidInputError, match=re.escape("treatment.exposures: the arm is empty")):
        two_proportion_ztest(*arms(100, 10, 0, 0))


def test_intervals_refuse_alpha_outside_the_unit_interval() -> None:
    with pytest.raises(InvalidInputError, match=re.escape("alpha: must lie strictly between 0 and 1, got 1.5")):
        difference_interval(*arms(100, 10, 100, 12), alpha=1.5)


def test_ztest_refuses_an_unknown_alternative() -> None:
    with pytest.raises(InvalidInputError, match="alternative: expected one of two-sided, greater, less, got 'bigger'"):
        two_proportion_ztest(*arms(100, 10, 100, 12), alternative="bigger")  # type: ignore[arg-type]

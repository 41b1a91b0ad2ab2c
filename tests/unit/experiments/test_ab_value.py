"""Value per lead: Welch's t-test from aggregates and a seeded bootstrap interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from leadscore.errors import InvalidInputError
from leadscore.experiments.value import ValueAggregate, bootstrap_difference_interval, welch_test


def aggregate(name: str, values: np.ndarray) -> ValueAggregate:
    return ValueAggregate(name, values.size, float(values.sum()), float((values**2).sum()))


@pytest.fixture
def revenue() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    control = rng.exponential(100, 400) * (rng.random(400) < 0.2)
    treatment = rng.exponential(120, 300) * (rng.random(300) < 0.25)
    return control, treatment


@pytest.mark.parametrize(("alternative"), ["two-sided", "greater", "less"])
def test_welch_matches_scipy_from_aggregates(revenue: tuple[np.ndarray, np.ndarray], alternative: str) -> None:
    control, treatment = revenue
    ours = welch_test(aggregate("control", control), aggregate("treatment", treatment), alternative=alternative)
    expected = stats.ttest_ind(treatment, control, equal_var=False, alternative=alternative)
    assert ours.t == pytest.approx(expected.statistic, abs=1e-9)
    assert ours.p_value == pytest.approx(expected.pvalue, abs=1e-9)
    assert ours.df == pytest.approx(expected.df, abs=1e-6)


def test_welch_interval_matches_scipy_confidence_interval(revenue: tuple[np.ndarray, np.ndarray]) -> None:
    control, treatment = revenue
    ours = welch_test(aggregate("control", control), aggregate("treatment", treatment), alpha=0.1)
    expected = stats.ttest_ind(treatment, control, equal_var=False).confidence_interval(0.9)
    assert (ours.interval.low, ours.interval.high) == pytest.approx((expected.low, expected.high), abs=1e-9)


def test_bootstrap_interval_is_reproducible_and_close_to_welch(
    revenue: tuple[np.ndarray, np.ndarray],
) -> None:
    control, treatment = revenue
    first = bootstrap_difference_interval(control, treatment, seed=3)
    second = bootstrap_difference_interval(control, treatment, seed=3)
    welch = welch_test(aggregate("control", control), aggregate("treatment", treatment)).interval
    assert first == second
    assert first.contains(float(treatment.mean() - control.mean()))
    assert math.isclose(first.high - first.low, welch.high - welch.low, rel_tol=0.15)


def test_welch_refuses_sums_that_no_values_can_have() -> None:
    with pytest.raises(InvalidInputError, match=r"^treatment: value_sum_sq \(10.0\) is too small"):
        ValueAggregate("treatment", 10, 100.0, 10.0)


def test_welch_refuses_an_arm_with_one_value() -> None:
    with pytest.raises(InvalidInputError, match=r"^control.n: Welch's test needs at least 2 values per arm, got 1$"):
        ValueAggregate("control", 1, 5.0, 25.0)


def test_welch_refuses_constant_values_in_both_arms() -> None:
    with pytest.raises(InvalidInputError, match="both arms have constant values"):
        welch_test(ValueAggregate("control", 3, 3.0, 3.0), ValueAggregate("treatment", 3, 6.0, 12.0))


def test_bootstrap_refuses_an_empty_arm() -> None:
    with pytest.raises(InvalidInputError, match=r"^control_values: need a non-empty list of numbers"):
        bootstrap_difference_interval([], [1.0, 2.0])

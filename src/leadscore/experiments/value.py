"""The optional value metric (revenue per lead): Welch's t-test and a bootstrap interval.

Revenue per lead is mostly zeros with a long right tail, and the arms' variances differ, so the
test is Welch's (no equal-variance assumption). The collector keeps only n, Σx and Σx² per arm
(``leadscore.api.summary.ArmSummary``), which is all Welch's test needs. Where raw values are at
hand, a seeded percentile bootstrap gives an interval that does not lean on normality.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from leadscore.errors import InvalidInputError
from leadscore.experiments.proportions import Alternative, Interval, check_alpha, check_alternative


@dataclass(frozen=True)
class ValueAggregate:
    """Count, sum and sum of squares of one arm's outcome values."""

    name: str
    n: int
    total: float
    total_sq: float

    def __post_init__(self) -> None:
        if self.n < 2:
            raise InvalidInputError(f"{self.name}.n: Welch's test needs at least 2 values per arm, got {self.n}")
        if self.total_sq < 0:
            raise InvalidInputError(f"{self.name}.value_sum_sq: must not be negative, got {self.total_sq}")
        if self.total**2 > self.n * self.total_sq * (1 + 1e-9):
            raise InvalidInputError(
                f"{self.name}: value_sum_sq ({self.total_sq}) is too small for value_sum ({self.total}) "
                f"over {self.n} values (sum of squares must be at least sum²/n)"
            )

    @property
    def mean(self) -> float:
        return self.total / self.n

    @property
    def variance(self) -> float:
        """Sample variance (n − 1); clipped at 0 against rounding in Σx² − (Σx)²/n."""
        return max(0.0, (self.total_sq - self.total**2 / self.n) / (self.n - 1))


@dataclass(frozen=True)
class WelchTest:
    """Welch's t-test of treatment mean minus control mean."""

    control_mean: float
    treatment_mean: float
    difference: float
    t: float
    df: float
    p_value: float
    interval: Interval


def welch_test(
    control: ValueAggregate,
    treatment: ValueAggregate,
    alpha: float = 0.05,
    alternative: Alternative = "two-sided",
) -> WelchTest:
    """Welch's t-test from aggregates; equals ``scipy.stats.ttest_ind_from_stats(equal_var=False)``."""
    check_alpha(alpha)
    check_alternative(alternative)
    var_c, var_t = control.variance / control.n, treatment.variance / treatment.n
    se2 = var_c + var_t
    difference = treatment.mean - control.mean
    if se2 == 0:
        raise InvalidInputError("value: both arms have constant values; Welch's test is undefined")
    se = math.sqrt(se2)
    df = se2**2 / (var_c**2 / (control.n - 1) + var_t**2 / (treatment.n - 1))
    t = difference / se
    dist = stats.t(df)
    if alternative == "greater":
        p = float(dist.sf(t))
        interval = Interval(difference - float(dist.isf(alpha)) * se, math.inf)
    elif alternative == "less":
        p = float(dist.cdf(t))
        interval = Interval(-math.inf, difference + float(dist.isf(alpha)) * se)
    else:
        p = float(2 * dist.sf(abs(t)))
        radius = float(dist.isf(alpha / 2)) * se
        interval = Interval(difference - radius, difference + radius)
    return WelchTest(control.mean, treatment.mean, difference, t, df, p, interval)


def bootstrap_difference_interval(
    control_values: ArrayLike,
    treatment_values: ArrayLike,
    *,
    alpha: float = 0.05,
    resamples: int = 2000,
    seed: int = 0,
    chunk: int = 250,
) -> Interval:
    """Percentile bootstrap interval for mean(treatment) − mean(control).

    Each resample draws both arms with replacement, independently; resamples are drawn ``chunk``
    at a time to keep memory at chunk × n values whatever the number of resamples.
    """
    check_alpha(alpha)
    control = np.asarray(control_values, float)
    treatment = np.asarray(treatment_values, float)
    for name, values in (("control", control), ("treatment", treatment)):
        if values.ndim != 1 or values.size == 0:
            raise InvalidInputError(f"{name}_values: need a non-empty list of numbers, got shape {values.shape}")
        if not np.isfinite(values).all():
            raise InvalidInputError(f"{name}_values: contains NaN or infinite values")
    if resamples < 100:
        raise InvalidInputError(f"resamples: at least 100 for a usable percentile interval, got {resamples}")
    rng = np.random.default_rng(seed)
    differences = np.empty(resamples)
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        mean_c = control[rng.integers(0, control.size, (size, control.size))].mean(axis=1)
        mean_t = treatment[rng.integers(0, treatment.size, (size, treatment.size))].mean(axis=1)
        differences[start : start + size] = mean_t - mean_c
    low, high = np.quantile(differences, [alpha / 2, 1 - alpha / 2])
    return Interval(float(low), float(high))

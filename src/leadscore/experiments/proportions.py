"""Fixed-horizon comparison of two conversion rates: pooled z-test and its intervals.

Every function takes the control arm first and the treatment arm second, and reports effects as
treatment minus control (difference) or treatment over control minus one (relative lift), so a
positive number always means "the new version converts better".

The array helpers (``pooled_z``, ``wilson_bounds``) accept numpy arrays as well as scalars: the
Monte-Carlo simulation runs the very same code on thousands of simulated experiments at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from leadscore.errors import InvalidInputError

Alternative = Literal["two-sided", "greater", "less"]
"""'greater': treatment converts better than control; 'less': worse; 'two-sided': either."""

ALTERNATIVES: tuple[Alternative, ...] = ("two-sided", "greater", "less")


@dataclass(frozen=True)
class ArmCounts:
    """Exposures and conversions of one arm; refuses counts that cannot happen."""

    name: str
    exposures: int
    conversions: int

    def __post_init__(self) -> None:
        for field in ("exposures", "conversions"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise InvalidInputError(f"{self.name}.{field}: expected a whole number, got {value!r}")
            if value < 0:
                raise InvalidInputError(f"{self.name}.{field}: must not be negative, got {value}")
        if self.conversions > self.exposures:
            raise InvalidInputError(f"{self.name}.conversions: {self.conversions} exceeds exposures ({self.exposures})")

    @property
    def rate(self) -> float:
        """Observed conversion rate; an arm without exposures has none."""
        self.require_exposures()
        return self.conversions / self.exposures

    def require_exposures(self) -> None:
        """Rates, tests and intervals are undefined for an arm nobody has seen yet."""
        if self.exposures == 0:
            raise InvalidInputError(f"{self.name}.exposures: the arm is empty (0 exposures)")


@dataclass(frozen=True)
class Interval:
    """A confidence interval; a one-sided interval has an infinite (or range-limit) end."""

    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class ZTest:
    """Pooled two-proportion z-test of treatment against control."""

    difference: float
    z: float
    p_value: float


def check_alpha(alpha: float) -> None:
    """An error rate outside (0, 1) is always a caller's mistake, never a statistic."""
    if not 0.0 < alpha < 1.0:
        raise InvalidInputError(f"alpha: must lie strictly between 0 and 1, got {alpha}")


def check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise InvalidInputError(f"alternative: expected one of {', '.join(ALTERNATIVES)}, got {alternative!r}")


def critical_value(alpha: float, alternative: Alternative) -> float:
    """Standard-normal quantile that a two-sided (alpha/2 per tail) or one-sided test uses."""
    return float(stats.norm.isf(alpha / 2 if alternative == "two-sided" else alpha))


def z_to_p(z: ArrayLike, alternative: Alternative) -> np.ndarray:
    """p-value of a standard-normal statistic; 'greater' rejects for large z."""
    z = np.asarray(z, dtype=float)
    p: np.ndarray
    if alternative == "greater":
        p = stats.norm.sf(z)
    elif alternative == "less":
        p = stats.norm.cdf(z)
    else:
        p = 2 * stats.norm.sf(np.abs(z))
    return p


def pooled_variance(kc: np.ndarray, nc: np.ndarray, kt: np.ndarray, nt: np.ndarray) -> np.ndarray:
    """Variance of the rate difference with one conversion rate pooled under "no difference";
    shared by the fixed-horizon z-test and the sequential test so both use the same null."""
    pooled = (kc + kt) / (nc + nt)
    variance: np.ndarray = pooled * (1 - pooled) * (1 / nc + 1 / nt)
    return variance


def pooled_z(
    conversions_c: ArrayLike, exposures_c: ArrayLike, conversions_t: ArrayLike, exposures_t: ArrayLike
) -> np.ndarray:
    """z statistic with the variance pooled under "no difference".

    When nobody (or everybody) has converted the pooled variance is zero and the data carry no
    evidence either way: z is 0 there (p = 1 two-sided) rather than NaN.
    """
    kc, nc = np.asarray(conversions_c, float), np.asarray(exposures_c, float)
    kt, nt = np.asarray(conversions_t, float), np.asarray(exposures_t, float)
    variance = pooled_variance(kc, nc, kt, nt)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (kt / nt - kc / nc) / np.sqrt(variance)
    return np.where(variance > 0, z, 0.0)


def two_proportion_ztest(control: ArmCounts, treatment: ArmCounts, alternative: Alternative = "two-sided") -> ZTest:
    """Pooled z-test (the textbook test; equals statsmodels' ``proportions_ztest``)."""
    check_alternative(alternative)
    control.require_exposures()
    treatment.require_exposures()
    z = float(pooled_z(control.conversions, control.exposures, treatment.conversions, treatment.exposures))
    return ZTest(treatment.rate - control.rate, z, float(z_to_p(z, alternative)))


def wilson_bounds(conversions: ArrayLike, exposures: ArrayLike, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for one rate at critical value ``z`` (stays inside [0, 1])."""
    k, n = np.asarray(conversions, float), np.asarray(exposures, float)
    p = k / n
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    return centre - half, centre + half


def wilson_interval(arm: ArmCounts, alpha: float = 0.05) -> Interval:
    """Two-sided Wilson interval for one arm's conversion rate."""
    check_alpha(alpha)
    arm.require_exposures()
    low, high = wilson_bounds(arm.conversions, arm.exposures, critical_value(alpha, "two-sided"))
    return Interval(float(low), float(high))


def _one_sided(interval: Interval, alternative: Alternative, lowest: float, highest: float) -> Interval:
    """Open the end a one-sided alternative does not bound.

    A one-sided 1-alpha bound is the matching end of the two-sided 1-2*alpha interval, so callers
    compute a two-sided interval at ``2 * alpha`` and keep the end that matters.
    """
    if alternative == "greater":
        return Interval(interval.low, highest)
    if alternative == "less":
        return Interval(lowest, interval.high)
    return interval


def _two_sided_alpha(alpha: float, alternative: Alternative) -> float:
    check_alpha(alpha)
    check_alternative(alternative)
    return alpha if alternative == "two-sided" else 2 * alpha


def difference_interval(
    control: ArmCounts, treatment: ArmCounts, alpha: float = 0.05, alternative: Alternative = "two-sided"
) -> Interval:
    """Newcombe's hybrid score interval for treatment rate minus control rate.

    Built from the two Wilson intervals (Newcombe 1998, method 10), it keeps good coverage near
    0 and 1 where a Wald interval collapses; equals statsmodels ``confint_proportions_2indep``
    with ``method='newcomb'``. One-sided variants open the end the alternative does not test.
    """
    level = _two_sided_alpha(alpha, alternative)
    control.require_exposures()
    treatment.require_exposures()
    z = critical_value(level, "two-sided")
    low_c, high_c = wilson_bounds(control.conversions, control.exposures, z)
    low_t, high_t = wilson_bounds(treatment.conversions, treatment.exposures, z)
    pc, pt = control.rate, treatment.rate
    difference = pt - pc
    below = math.sqrt((pt - float(low_t)) ** 2 + (float(high_c) - pc) ** 2)
    above = math.sqrt((float(high_t) - pt) ** 2 + (pc - float(low_c)) ** 2)
    return _one_sided(Interval(difference - below, difference + above), alternative, -1.0, 1.0)


def log_ratio_estimate(
    conversions_c: ArrayLike, exposures_c: ArrayLike, conversions_t: ArrayLike, exposures_t: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """log(treatment rate / control rate) and its delta-method variance.

    Where either arm has no conversions the log is undefined; there, and only there, half a
    conversion and half an exposure are added to both arms (the usual Haldane-style correction,
    statsmodels' 'log-adjusted'), which keeps the interval finite and wide.
    """
    kc, nc = np.asarray(conversions_c, float), np.asarray(exposures_c, float)
    kt, nt = np.asarray(conversions_t, float), np.asarray(exposures_t, float)
    half = np.where((kc == 0) | (kt == 0), 0.5, 0.0)
    kc, nc, kt, nt = kc + half, nc + half, kt + half, nt + half
    estimate = np.log((kt / nt) / (kc / nc))
    variance = 1 / kt - 1 / nt + 1 / kc - 1 / nc
    return estimate, variance


def lift_interval(
    control: ArmCounts, treatment: ArmCounts, alpha: float = 0.05, alternative: Alternative = "two-sided"
) -> Interval:
    """Interval for the relative lift, treatment rate / control rate - 1.

    Method: delta method on the log of the rate ratio (Katz et al. 1978), exponentiated, so the
    interval is asymmetric and never goes below -100 %; equals statsmodels
    ``confint_proportions_2indep(compare='ratio', method='log')`` minus one when both arms have
    conversions (see ``log_ratio_estimate`` for the zero case).
    """
    level = _two_sided_alpha(alpha, alternative)
    control.require_exposures()
    treatment.require_exposures()
    estimate, variance = log_ratio_estimate(
        control.conversions, control.exposures, treatment.conversions, treatment.exposures
    )
    radius = critical_value(level, "two-sided") * math.sqrt(float(variance))
    interval = Interval(math.expm1(float(estimate) - radius), math.expm1(float(estimate) + radius))
    return _one_sided(interval, alternative, -1.0, math.inf)


def relative_lift(control: ArmCounts, treatment: ArmCounts) -> float:
    """Treatment rate / control rate - 1; infinite when the control arm never converted."""
    if control.rate == 0:
        return 0.0 if treatment.rate == 0 else math.inf
    return treatment.rate / control.rate - 1

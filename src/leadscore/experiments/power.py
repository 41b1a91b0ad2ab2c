"""Power planning: how many leads each arm needs before a fixed-horizon test may be read.

Effect sizes are Cohen's h, the difference of arcsine-square-root rates, exactly as statsmodels'
``proportion_effectsize`` + ``NormalIndPower`` do, so a plan here and a plan an analyst makes in
statsmodels agree. The minimum detectable effect (MDE) is a *relative* lift: 0.10 means "detect
a 10 % better conversion rate", i.e. 10.0 % -> 11.0 %, not 10 % -> 20 %.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, Field
from scipy import optimize, stats

from leadscore.errors import InvalidInputError
from leadscore.experiments.proportions import Alternative, check_alpha, check_alternative
from leadscore.experiments.sequential import Mixing


class ExperimentPlan(BaseModel):
    """Sample sizes (and, given traffic, the time) a fixed-horizon test needs."""

    baseline: float = Field(description="Control conversion rate (or mean value per lead) the plan assumes.")
    minimum_detectable_effect: float = Field(description="Relative lift to detect (0.1 = +10 %).")
    alpha: float
    power: float
    alternative: Alternative
    effect_size: float = Field(description="Cohen's h between treated and baseline rates (Cohen's d for means).")
    per_arm_exact: float = Field(description="Control-arm size solving the power equation exactly.")
    per_arm: int = Field(description="Control-arm size, rounded up: exposures each arm needs at a 50/50 split.")
    treatment_per_arm: int = Field(description="Treatment-arm size (differs from per_arm for uneven splits).")
    total: int = Field(description="Exposures over both arms.")
    expected_days: float | None = Field(None, description="total / daily exposures, when traffic is known.")


class AdjustedPlan(BaseModel):
    """Per-arm sizes with and without regression adjustment, for the fixed and the always-valid test.

    Adjusting for a covariate whose correlation with conversion is ρ multiplies the variance of
    the difference by 1 − ρ², and with it every sample size. ``sequential_per_arm`` is N*, the
    size by which the tuned mSPRT has the requested power at the MDE (``sequential.Mixing``);
    it stops earlier on average when the effect is real (``leadscore experiment simulate``).
    """

    correlation: float = Field(description="Expected correlation of the covariate with conversion.")
    variance_reduction: float = Field(description="ρ²: share of the variance the adjustment removes.")
    fixed_per_arm: int
    fixed_adjusted_per_arm: int
    sequential_per_arm: int
    sequential_adjusted_per_arm: int
    fixed_days: float | None = None
    fixed_adjusted_days: float | None = None
    sequential_days: float | None = None
    sequential_adjusted_days: float | None = None


def cohens_h(treated: float, baseline: float) -> float:
    """2·asin(√p1) − 2·asin(√p2): a variance-stabilised distance between two rates."""
    return 2 * math.asin(math.sqrt(treated)) - 2 * math.asin(math.sqrt(baseline))


def normal_power(effect_size: float, effective_n: float, alpha: float, alternative: Alternative) -> float:
    """Power of a z-test whose statistic has mean ``effect_size·√n`` (both tails when two-sided)."""
    shift = effect_size * math.sqrt(effective_n)
    if alternative == "greater":
        return float(stats.norm.sf(stats.norm.isf(alpha) - shift))
    if alternative == "less":
        return float(stats.norm.cdf(stats.norm.ppf(alpha) - shift))
    crit = stats.norm.isf(alpha / 2)
    return float(stats.norm.sf(crit - shift) + stats.norm.cdf(-crit - shift))


def plan_experiment(
    baseline: float,
    minimum_detectable_effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
    treatment_share: float = 0.5,
    daily_exposures: float | None = None,
) -> ExperimentPlan:
    """Per-arm sample size for detecting ``minimum_detectable_effect`` over a conversion rate.

    An uneven split (``treatment_share`` != 0.5) needs more leads in total; the treatment arm
    gets ``ratio = share / (1 - share)`` times the control arm's size, as in NormalIndPower.
    """
    if not 0.0 < baseline < 1.0:
        raise InvalidInputError(f"baseline: a conversion rate strictly between 0 and 1, got {baseline}")
    _check_plan_inputs(minimum_detectable_effect, alpha, power, alternative, treatment_share, daily_exposures)
    treated = baseline * (1 + _direction(alternative) * minimum_detectable_effect)
    if not 0.0 < treated < 1.0:
        raise InvalidInputError(
            f"minimum_detectable_effect: {minimum_detectable_effect} moves baseline {baseline} "
            f"to {treated:.4g}, outside (0, 1)"
        )
    return _plan(
        baseline, minimum_detectable_effect, cohens_h(treated, baseline),
        alpha, power, alternative, treatment_share, daily_exposures,
    )  # fmt: skip


def plan_mean_experiment(
    baseline_mean: float,
    baseline_sd: float,
    minimum_detectable_effect: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
    alternative: Alternative = "two-sided",
    treatment_share: float = 0.5,
    daily_exposures: float | None = None,
) -> ExperimentPlan:
    """Per-arm sample size for a relative change in a mean (value per lead).

    The effect size is Cohen's d = MDE × mean / sd with the control arm's sd, in the same normal
    power equation as for rates (statsmodels ``NormalIndPower`` with that d).
    """
    if baseline_mean <= 0:
        raise InvalidInputError(f"baseline_mean: a positive mean value per lead, got {baseline_mean}")
    if baseline_sd <= 0:
        raise InvalidInputError(f"baseline_sd: a positive standard deviation, got {baseline_sd}")
    _check_plan_inputs(minimum_detectable_effect, alpha, power, alternative, treatment_share, daily_exposures)
    d = _direction(alternative) * minimum_detectable_effect * baseline_mean / baseline_sd
    return _plan(
        baseline_mean, minimum_detectable_effect, d, alpha, power, alternative, treatment_share, daily_exposures
    )


def _direction(alternative: Alternative) -> float:
    return -1.0 if alternative == "less" else 1.0


def _check_plan_inputs(
    minimum_detectable_effect: float,
    alpha: float,
    power: float,
    alternative: Alternative,
    treatment_share: float,
    daily_exposures: float | None,
) -> None:
    check_alpha(alpha)
    check_alternative(alternative)
    if minimum_detectable_effect <= 0:
        raise InvalidInputError(
            f"minimum_detectable_effect: a positive relative lift (0.1 = +10 %), got {minimum_detectable_effect}"
        )
    if not alpha < power < 1.0:
        raise InvalidInputError(f"power: must lie between alpha ({alpha}) and 1, got {power}")
    if not 0.0 < treatment_share < 1.0:
        raise InvalidInputError(f"treatment_share: strictly between 0 and 1, got {treatment_share}")
    if daily_exposures is not None and daily_exposures <= 0:
        raise InvalidInputError(f"daily_exposures: must be positive, got {daily_exposures}")


def _plan(
    baseline: float,
    minimum_detectable_effect: float,
    effect_size: float,
    alpha: float,
    power: float,
    alternative: Alternative,
    treatment_share: float,
    daily_exposures: float | None,
) -> ExperimentPlan:
    effective_n = _solve_effective_n(effect_size, alpha, power, alternative)
    ratio = treatment_share / (1 - treatment_share)
    per_arm_exact = effective_n * (1 + ratio) / ratio
    per_arm = math.ceil(per_arm_exact)
    treatment_n = math.ceil(per_arm_exact * ratio)
    total = per_arm + treatment_n
    return ExperimentPlan(
        baseline=baseline,
        minimum_detectable_effect=minimum_detectable_effect,
        alpha=alpha,
        power=power,
        alternative=alternative,
        effect_size=effect_size,
        per_arm_exact=per_arm_exact,
        per_arm=per_arm,
        treatment_per_arm=treatment_n,
        total=total,
        expected_days=None if daily_exposures is None else total / daily_exposures,
    )


def _solve_effective_n(h: float, alpha: float, power: float, alternative: Alternative) -> float:
    """Root of power(n) = target in n = n1·n2/(n1+n2).

    One-sided, the closed form ((z_α + z_β)/h)² is exact. Two-sided, the far tail adds a little
    power, so the root lies just below the closed form at z_{α/2}; brentq finds it to ~1e-12.
    """
    z_beta = stats.norm.isf(1 - power)
    if alternative != "two-sided":
        return float(((stats.norm.isf(alpha) + z_beta) / h) ** 2)
    upper = float(((stats.norm.isf(alpha / 2) + z_beta) / h) ** 2)
    return float(
        optimize.brentq(
            lambda n: normal_power(h, n, alpha, alternative) - power,
            np.finfo(float).tiny,
            upper,
            xtol=1e-12,
            rtol=4 * np.finfo(float).eps,
        )
    )


def plan_adjusted(plan: ExperimentPlan, correlation: float, treatment_share: float = 0.5) -> AdjustedPlan:
    """Sizes of ``plan`` (a conversion plan) with and without adjustment, fixed and sequential."""
    if not 0.0 <= correlation < 1.0:
        raise InvalidInputError(f"correlation: between 0 and 1 (exclusive), got {correlation}")
    shrink = 1 - correlation**2
    ratio = treatment_share / (1 - treatment_share)
    treated = plan.baseline * (1 + _direction(plan.alternative) * plan.minimum_detectable_effect)
    delta = abs(treated - plan.baseline)
    planned_variance = float(Mixing(plan.minimum_detectable_effect, plan.alpha, plan.power).planned_variance(delta))
    sequential_exact = (plan.baseline * (1 - plan.baseline) + treated * (1 - treated) / ratio) / planned_variance
    sizes = {
        "fixed_per_arm": plan.per_arm_exact,
        "fixed_adjusted_per_arm": plan.per_arm_exact * shrink,
        "sequential_per_arm": sequential_exact,
        "sequential_adjusted_per_arm": sequential_exact * shrink,
    }
    days: dict[str, float | None] = {}
    per_day = None if plan.expected_days is None else plan.total / plan.expected_days
    for name, exact in sizes.items():
        total = math.ceil(exact) + math.ceil(exact * ratio)
        days[name.replace("_per_arm", "_days")] = None if per_day is None else total / per_day
    return AdjustedPlan(
        correlation=correlation,
        variance_reduction=correlation**2,
        **{name: math.ceil(exact) for name, exact in sizes.items()},
        **days,
    )

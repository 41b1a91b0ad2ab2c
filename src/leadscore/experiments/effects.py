"""The effect of the treatment on the deciding metric: estimate, intervals and p-value.

Two metrics (conversion rate; value per lead) times two modes (fixed-horizon; sequential) give
four ways to compute the same ``Effect``. The decision rule reads only ``Effect``, so it treats
both metrics alike.

Sequential conversion figures accumulate over the collector's daily looks (running-minimum
p-value, intersected confidence sequences). Daily counts carry no values, so the sequential
value test uses the current snapshot only — still valid at every look, merely not monotone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from leadscore.experiments.power import plan_experiment, plan_mean_experiment
from leadscore.experiments.proportions import (
    Alternative,
    ArmCounts,
    Interval,
    critical_value,
    difference_interval,
    lift_interval,
    relative_lift,
    two_proportion_ztest,
)
from leadscore.experiments.sequential import (
    always_valid_p,
    difference_confidence_radius,
    difference_log_lr,
    lift_confidence_bounds,
    mixture_log_lr,
    mixture_radius,
    running_intersection,
    running_min_p,
)
from leadscore.experiments.settings import ExperimentSettings, Metric
from leadscore.experiments.timeline import Look, look_arrays
from leadscore.experiments.value import ValueAggregate, welch_test


@dataclass(frozen=True)
class Effect:
    """Treatment against control on one metric."""

    metric: Metric
    levels: str
    """The two arms' levels in words, e.g. '12.00% vs 10.00% conversion'."""
    difference: float
    difference_ci: Interval
    lift: float
    lift_ci: Interval
    statistic: float
    """z (conversion) or Welch's t (value) of the snapshot, on the fixed-horizon scale."""
    p_value: float
    looks: int


def conversion_effect(
    control: ArmCounts, treatment: ArmCounts, settings: ExperimentSettings, history: Sequence[Look]
) -> Effect:
    """Conversion-rate effect; ``history`` are the earlier daily looks (sequential only)."""
    test = two_proportion_ztest(control, treatment, settings.alternative)
    levels = f"{treatment.rate:.2%} vs {control.rate:.2%} conversion"
    lift = relative_lift(control, treatment)
    if not settings.sequential:
        return Effect(
            "conversion",
            levels,
            test.difference,
            difference_interval(control, treatment, settings.alpha, settings.alternative),
            lift,
            lift_interval(control, treatment, settings.alpha, settings.alternative),
            test.z,
            test.p_value,
            1,
        )
    looks = [look for look in history if look.both_exposed] + [Look(None, control, treatment)]
    kc, nc, kt, nt = look_arrays(looks)
    mixing = settings.effective_mixing_effect
    differences = kt / nt - kc / nc
    p = _directional(always_valid_p(difference_log_lr(kc, nc, kt, nt, mixing)), differences, settings.alternative)
    radius = difference_confidence_radius(kc, nc, kt, nt, mixing, settings.alpha)
    lift_low, lift_high = lift_confidence_bounds(kc, nc, kt, nt, mixing, settings.alpha)
    return Effect(
        "conversion",
        levels,
        test.difference,
        _open(_latest_intersection(differences - radius, differences + radius), settings.alternative, -1.0, 1.0),
        lift,
        _open(_latest_intersection(lift_low, lift_high), settings.alternative, -1.0, math.inf),
        test.z,
        float(running_min_p(p)[-1]),
        len(looks),
    )


def value_effect(control: ValueAggregate, treatment: ValueAggregate, settings: ExperimentSettings) -> Effect:
    """Value-per-lead effect: Welch's test, or the mSPRT on the difference in means."""
    welch = welch_test(control, treatment, settings.alpha, settings.alternative)
    levels = f"{treatment.mean:.2f} vs {control.mean:.2f} value per lead"
    lift = treatment.mean / control.mean - 1 if control.mean > 0 else math.nan
    log_ratio, log_variance = _log_mean_ratio(control, treatment)
    variance = control.variance / control.n + treatment.variance / treatment.n
    if not settings.sequential:
        radius = critical_value(_two_sided_level(settings), "two-sided") * math.sqrt(log_variance)
        lift_ci = Interval(math.expm1(log_ratio - radius), math.expm1(log_ratio + radius))
        return Effect(
            "value",
            levels,
            welch.difference,
            welch.interval,
            lift,
            _open(lift_ci, settings.alternative, -1.0, math.inf),
            welch.t,
            welch.p_value,
            1,
        )
    mixing = settings.effective_mixing_effect
    grand_mean = (control.total + treatment.total) / (control.n + treatment.n)
    tau2 = (mixing * grand_mean) ** 2
    p = _directional(
        always_valid_p(mixture_log_lr(welch.difference, variance, tau2)),
        np.asarray(welch.difference),
        settings.alternative,
    )
    radius = float(mixture_radius(variance, tau2, settings.alpha))
    log_radius = float(mixture_radius(log_variance, math.log1p(mixing) ** 2, settings.alpha))
    return Effect(
        "value",
        levels,
        welch.difference,
        _open(
            Interval(welch.difference - radius, welch.difference + radius), settings.alternative, -math.inf, math.inf
        ),
        lift,
        _open(
            Interval(math.expm1(log_ratio - log_radius), math.expm1(log_ratio + log_radius)),
            settings.alternative,
            -1.0,
            math.inf,
        ),
        welch.t,
        float(p),
        1,
    )


def planned_per_arm(
    metric: Metric, control: ArmCounts, values: ValueAggregate | None, settings: ExperimentSettings
) -> int | None:
    """Fixed-horizon size per arm (the larger arm) for the MDE; None until it can be planned.

    Conversion plans from ``baselineRate``, else the observed control rate; value plans from the
    observed control mean and sd.
    """
    options = {
        "alpha": settings.alpha,
        "power": settings.power,
        "alternative": settings.alternative,
        "treatment_share": settings.treatment_share,
    }
    mde = settings.minimum_detectable_effect
    if metric == "value":
        if values is None or values.mean <= 0 or values.variance <= 0:
            return None
        plan = plan_mean_experiment(values.mean, math.sqrt(values.variance), mde, **options)
    else:
        baseline = settings.baseline_rate
        if baseline is None and control.exposures > 0:
            baseline = control.rate
        if baseline is None or not 0 < baseline < 1 or not 0 < baseline * (1 + mde) < 1:
            return None
        plan = plan_experiment(baseline, mde, **options)
    return max(plan.per_arm, plan.treatment_per_arm)


def _log_mean_ratio(control: ValueAggregate, treatment: ValueAggregate) -> tuple[float, float]:
    """log(mean_t / mean_c) and its delta-method variance; undefined (infinite variance) unless both are positive."""
    if control.mean <= 0 or treatment.mean <= 0:
        return 0.0, math.inf
    variance = treatment.variance / (treatment.n * treatment.mean**2) + control.variance / (control.n * control.mean**2)
    return math.log(treatment.mean / control.mean), variance


def _two_sided_level(settings: ExperimentSettings) -> float:
    return settings.alpha if settings.alternative == "two-sided" else 2 * settings.alpha


def _directional(p: np.ndarray, differences: np.ndarray, alternative: Alternative) -> np.ndarray:
    """A one-sided alternative counts only evidence in its own direction (valid, conservative)."""
    if alternative == "greater":
        return np.where(differences > 0, p, 1.0)
    if alternative == "less":
        return np.where(differences < 0, p, 1.0)
    return p


def _latest_intersection(lows: np.ndarray, highs: np.ndarray) -> Interval:
    """The confidence sequence after the latest look.

    An empty intersection can only happen on a rare, unlucky path; the latest look's own interval
    is the honest answer then.
    """
    low, high = (float(bound[-1]) for bound in running_intersection(lows, highs))
    return Interval(low, high) if low <= high else Interval(float(lows[-1]), float(highs[-1]))


def _open(interval: Interval, alternative: Alternative, lowest: float, highest: float) -> Interval:
    """Open the end a one-sided alternative does not bound, up to the range's own limit."""
    if alternative == "greater":
        return Interval(interval.low, highest)
    if alternative == "less":
        return Interval(lowest, interval.high)
    return interval

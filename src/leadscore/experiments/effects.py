"""The effect of the treatment on the deciding metric: estimate, intervals and p-value.

Two metrics (conversion rate; value per lead) times three designs (fixed-horizon; always-valid
mSPRT; group-sequential ``planned``), with or without regression adjustment for conversion, all
give the same ``Effect``. The decision rule reads only ``Effect``, so it treats them alike.

Sequential conversion figures accumulate over the collector's daily looks (running-minimum
p-value, intersected confidence sequences). Daily counts carry no values, so the sequential
value test uses the current snapshot only — still valid at every look, merely not monotone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from leadscore.experiments.adjustment import (
    AdjustedDifference,
    adjusted_difference,
    adjusted_difference_radius,
    adjusted_lift_bounds,
    adjusted_log_lr,
)
from leadscore.experiments.group_sequential import boundaries, repeated_p_value
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
    z_to_p,
)
from leadscore.experiments.sequential import (
    always_valid_p,
    difference_confidence_radius,
    difference_log_lr,
    difference_tau2,
    lift_confidence_bounds,
    mixture_log_lr,
    mixture_radius,
    running_intersection,
    running_min_p,
)
from leadscore.experiments.settings import ExperimentSettings, Metric
from leadscore.experiments.timeline import Look, look_arrays, look_moments
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
    mixing_effect: float | None = None
    """mSPRT only: the relative lift the mixture's τ stands for at the latest look."""
    variance_reduction: float | None = None
    """Adjusted only: share of the difference's variance the covariate removed."""
    information: float | None = None
    """Planned only: share of the planned maximum per arm reached (1 = the final look)."""


def conversion_effect(
    control: ArmCounts, treatment: ArmCounts, settings: ExperimentSettings, history: Sequence[Look]
) -> Effect:
    """Conversion-rate effect; ``history`` are the earlier daily looks (sequential only)."""
    test = two_proportion_ztest(control, treatment, settings.alternative)
    levels = f"{treatment.rate:.2%} vs {control.rate:.2%} conversion"
    lift = relative_lift(control, treatment)
    if settings.design == "fixed":
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
    mixing = settings.mixing
    differences = kt / nt - kc / nc
    p = _directional(always_valid_p(difference_log_lr(kc, nc, kt, nt, mixing)), differences, settings.alternative)
    radius = difference_confidence_radius(kc, nc, kt, nt, mixing)
    lift_low, lift_high = lift_confidence_bounds(kc, nc, kt, nt, mixing)
    pooled = (kc[-1] + kt[-1]) / (nc[-1] + nt[-1])
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
        mixing_effect=_mixing_effect(float(difference_tau2(kc[-1], nc[-1], kt[-1], nt[-1], mixing)), pooled),
    )


def moments_effect(
    looks: Sequence[Look], settings: ExperimentSettings, *, adjust: bool, final: bool, maximum_per_arm: int | None
) -> Effect:
    """Conversion effect from the per-look sums: regression-adjusted (``adjust``), and/or planned.

    ``looks`` end with the current snapshot. ``maximum_per_arm`` is the planned design's maximum.
    """
    comparison = adjusted_difference(*look_moments(looks), adjust=adjust)
    latest = _latest(comparison)
    raw_control = looks[-1].control
    raw_treatment = looks[-1].treatment
    z = float(latest.null_z)
    design = settings.design
    suffix = ", adjusted for the control model's score" if adjust else ""
    levels = f"{float(latest.treatment_mean):.2%} vs {float(latest.control_mean):.2%} conversion{suffix}"
    lift = float(latest.lift) if adjust else relative_lift(raw_control, raw_treatment)
    reduction = float(latest.variance_reduction) if adjust else None
    if design == "msprt":
        mixing = settings.mixing
        evidence = always_valid_p(adjusted_log_lr(comparison, mixing))
        p = _directional(evidence, comparison.difference, settings.alternative)
        radius = adjusted_difference_radius(comparison, mixing)
        lift_low, lift_high = adjusted_lift_bounds(comparison, mixing)
        tau2 = float(mixing.difference_tau2(latest.pooled_mean, latest.unit_null_variance))
        return Effect(
            "conversion", levels, float(latest.difference),
            _open(_latest_intersection(comparison.difference - radius, comparison.difference + radius),
                  settings.alternative, -1.0, 1.0),
            lift, _open(_latest_intersection(lift_low, lift_high), settings.alternative, -1.0, math.inf),
            z, float(running_min_p(p)[-1]), len(looks),
            mixing_effect=_mixing_effect(tau2, float(latest.pooled_mean)), variance_reduction=reduction,
        )  # fmt: skip
    if design == "planned":
        smaller = np.array([min(look.control.exposures, look.treatment.exposures) for look in looks], float)
        return _planned_effect(comparison, smaller, settings, (levels, lift, reduction), final, maximum_per_arm)
    level = _two_sided_level(settings)
    crit = critical_value(level, "two-sided")
    half = crit * math.sqrt(float(latest.variance))
    log_half = crit * math.sqrt(float(latest.log_variance))
    return Effect(
        "conversion", levels, float(latest.difference),
        _open(Interval(float(latest.difference) - half, float(latest.difference) + half),
              settings.alternative, -1.0, 1.0),
        lift,
        _open(Interval(math.expm1(float(latest.log_ratio) - log_half), math.expm1(float(latest.log_ratio) + log_half)),
              settings.alternative, -1.0, math.inf),
        z, float(z_to_p(z, settings.alternative)), 1, variance_reduction=reduction,
    )  # fmt: skip


def _planned_effect(
    comparison: AdjustedDifference,
    smaller_arm: np.ndarray,
    settings: ExperimentSettings,
    described: tuple[str, float, float | None],
    final: bool,
    maximum_per_arm: int | None,
) -> Effect:
    """Group-sequential reading: boundaries at the looks' information fractions, repeated p and intervals.

    The information fraction of a look is the smaller arm's exposures over the planned maximum
    (capped at 1: that look spends the rest of alpha, as does a final look before it). Looks that
    add no information are skipped; so are looks after the one that reached the maximum.
    """
    levels, lift, reduction = described
    planned_spending = settings.alpha_spending or "obrien-fleming"
    fractions = np.minimum(smaller_arm / maximum_per_arm, 1.0) if maximum_per_arm else np.zeros_like(smaller_arm)
    if final:
        fractions[-1] = 1.0
    kept = (fractions > 0) & (fractions > np.maximum.accumulate(np.concatenate([[0.0], fractions[:-1]])))
    if not kept.any():  # no maximum to measure information against yet: no evidence, nothing spent
        return Effect(
            "conversion", levels, float(comparison.difference[-1]), Interval(-1.0, 1.0), lift,
            Interval(-1.0, math.inf), float(comparison.null_z[-1]), 1.0, 0,
            variance_reduction=reduction, information=0.0,
        )  # fmt: skip
    fractions, z = fractions[kept], comparison.null_z[kept]
    bounds = boundaries(fractions, settings.alpha, planned_spending)
    with np.errstate(invalid="ignore"):
        radius = bounds * np.sqrt(comparison.variance[kept])
        log_radius = bounds * np.sqrt(comparison.log_variance[kept])
    difference, log_ratio = comparison.difference[kept], comparison.log_ratio[kept]
    return Effect(
        "conversion", levels, float(comparison.difference[-1]),
        _latest_intersection(difference - radius, difference + radius),
        lift,
        _latest_intersection(np.expm1(log_ratio - log_radius), np.expm1(log_ratio + log_radius)),
        float(comparison.null_z[-1]), repeated_p_value(z, fractions, planned_spending), int(kept.sum()),
        variance_reduction=reduction, information=float(fractions[-1]),
    )  # fmt: skip


def value_effect(control: ValueAggregate, treatment: ValueAggregate, settings: ExperimentSettings) -> Effect:
    """Value-per-lead effect: Welch's test, or the mSPRT on the difference in means."""
    welch = welch_test(control, treatment, settings.alpha, settings.alternative)
    levels = f"{treatment.mean:.2f} vs {control.mean:.2f} value per lead"
    lift = treatment.mean / control.mean - 1 if control.mean > 0 else math.nan
    log_ratio, log_variance = _log_mean_ratio(control, treatment)
    variance = control.variance / control.n + treatment.variance / treatment.n
    if settings.design == "fixed":
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
    mixing = settings.mixing
    grand_mean = (control.total + treatment.total) / (control.n + treatment.n)
    unit_variance = (control.n * control.variance + treatment.n * treatment.variance) / (control.n + treatment.n)
    tau2 = float(mixing.difference_tau2(grand_mean, unit_variance))
    p = _directional(
        always_valid_p(mixture_log_lr(welch.difference, variance, tau2)),
        np.asarray(welch.difference),
        settings.alternative,
    )
    radius = float(mixture_radius(variance, tau2, settings.alpha))
    unit_log = unit_variance / grand_mean**2 if grand_mean > 0 else math.inf
    log_radius = float(mixture_radius(log_variance, mixing.log_ratio_tau2(unit_log), settings.alpha))
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
        mixing_effect=_mixing_effect(tau2, grand_mean),
    )


def planned_per_arm(
    metric: Metric, control: ArmCounts, values: ValueAggregate | None, settings: ExperimentSettings
) -> int | None:
    """Fixed-horizon size per arm (the larger arm) for the MDE; None until it can be planned.

    Conversion plans from ``baselineRate``, else the observed control rate; value plans from the
    observed control mean and sd.
    """
    alpha, power, alternative, share = settings.alpha, settings.power, settings.alternative, settings.treatment_share
    mde = settings.minimum_detectable_effect
    if metric == "value":
        if values is None or values.mean <= 0 or values.variance <= 0:
            return None
        plan = plan_mean_experiment(values.mean, math.sqrt(values.variance), mde, alpha=alpha, power=power,
                                    alternative=alternative, treatment_share=share)
    else:
        baseline = settings.baseline_rate
        if baseline is None and control.exposures > 0:
            baseline = control.rate
        if baseline is None or not 0 < baseline < 1 or not 0 < baseline * (1 + mde) < 1:
            return None
        plan = plan_experiment(baseline, mde, alpha=alpha, power=power, alternative=alternative,
                               treatment_share=share)
    return max(plan.per_arm, plan.treatment_per_arm)


def _latest(comparison: AdjustedDifference) -> AdjustedDifference:
    """The comparison at the latest look only."""
    return AdjustedDifference(**{name: value[-1] for name, value in vars(comparison).items()})


def _mixing_effect(tau2: float, pooled: float) -> float | None:
    return math.sqrt(tau2) / pooled if pooled > 0 else None


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

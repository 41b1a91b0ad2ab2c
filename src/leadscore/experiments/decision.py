"""The decision rule the operator applies to an experiment, and the figures behind it.

``decide`` is the one entry point: it takes the collector's ``ExperimentSummary``, the
experiment's ``ExperimentSettings`` and how long it has run, and returns an
``ExperimentAnalysis`` whose ``decision`` is one of

- ``halted``: the experiment cannot be trusted or cannot finish — a sample-ratio mismatch, or the
  maximum duration passed before each arm reached ``minSamplesPerArm``;
- ``continue``: not enough evidence yet, and waiting is still allowed;
- ``promote`` / ``rollback``: the treatment converts significantly better / worse;
- ``inconclusive``: the experiment is over (maximum duration, the planned horizon of a fixed
  test, or a sequential interval that rules out any effect as large as the MDE) without a
  significant difference.

The checks run in that order, so a broken split is never reported as a winner. ``status_fields``
turns the analysis into the camelCase fields of ``ABExperiment.status``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from leadscore.api.summary import ArmSummary, ExperimentSummary
from leadscore.errors import ValidationError
from leadscore.experiments.formatting import percent
from leadscore.experiments.power import plan_experiment
from leadscore.experiments.proportions import (
    Alternative,
    ArmCounts,
    Interval,
    difference_interval,
    lift_interval,
    relative_lift,
    two_proportion_ztest,
    wilson_interval,
)
from leadscore.experiments.sequential import (
    always_valid_p,
    difference_confidence_radius,
    difference_log_lr,
    lift_confidence_bounds,
    running_intersection,
    running_min_p,
)
from leadscore.experiments.settings import ExperimentSettings
from leadscore.experiments.srm import srm_p_value
from leadscore.experiments.timeline import ARMS, Look, daily_looks, look_arrays
from leadscore.experiments.value import ValueAggregate, welch_test

Decision = Literal["promote", "rollback", "inconclusive", "continue", "halted"]
CONCLUSIVE: frozenset[str] = frozenset({"promote", "rollback", "inconclusive", "halted"})


class ArmResult(BaseModel):
    """One arm as the status and the report show it."""

    name: str
    model_version: str
    exposures: int
    conversions: int
    rate: float | None = Field(None, description="Conversion rate; None while the arm is empty.")
    rate_ci_low: float | None = Field(None, description="Wilson interval at the experiment's alpha.")
    rate_ci_high: float | None = None
    value_per_lead: float | None = Field(None, description="Mean outcome value, when values are reported.")


class ValueResult(BaseModel):
    """Welch's t-test on outcome value per lead (reported; conversion decides)."""

    control_mean: float
    treatment_mean: float
    difference: float
    difference_ci_low: float
    difference_ci_high: float
    p_value: float
    degrees_of_freedom: float


class ExperimentAnalysis(BaseModel):
    """A decision, its reason, and every figure it rests on."""

    decision: Decision
    reason: str = Field(description="One sentence a sales-operations reader can act on.")
    sequential: bool
    alpha: float
    alternative: Alternative
    final: bool = Field(
        description="True when this was the last look (maximum duration or the caller said so)."
    )
    elapsed_seconds: float
    control: ArmResult
    treatment: ArmResult
    difference: float | None = Field(None, description="Treatment rate minus control rate.")
    difference_ci_low: float | None = None
    difference_ci_high: float | None = None
    lift: float | None = Field(None, description="Relative lift: treatment rate / control rate - 1.")
    lift_ci_low: float | None = None
    lift_ci_high: float | None = None
    z: float | None = Field(None, description="Pooled z statistic of the snapshot (fixed-horizon scale).")
    p_value: float | None = Field(
        None, description="Always-valid p-value when sequential, else the z-test's."
    )
    srm_p_value: float
    looks: int = Field(0, description="Looks the sequential p-value and interval were accumulated over.")
    planned_per_arm: int | None = Field(None, description="Fixed-horizon sample size per arm for the MDE.")
    mixing_effect: float | None = Field(None, description="Relative lift the mSPRT mixture is scaled to.")
    value: ValueResult | None = None
    settings: ExperimentSettings = Field(description="The settings this analysis applied.")

    @property
    def concluded(self) -> bool:
        """True once the experiment should stop (whatever the outcome)."""
        return self.decision in CONCLUSIVE


@dataclass(frozen=True)
class _Effect:
    difference: float
    difference_ci: Interval
    lift: float
    lift_ci: Interval
    z: float
    p_value: float
    looks: int


def decide(
    summary: ExperimentSummary,
    settings: ExperimentSettings,
    *,
    elapsed: timedelta,
    final: bool = False,
) -> ExperimentAnalysis:
    """Decide what to do with an experiment now.

    ``elapsed`` is the time since traffic was first split. ``final=True`` declares this snapshot
    the last look (an analyst's one-off analysis of finished data): a fixed-horizon test is then
    read even before its planned sample size, and no "continue" is returned.
    """
    if elapsed < timedelta(0):
        raise ValidationError(f"elapsed: must not be negative, got {elapsed}")
    control = _arm_counts(summary, "control")
    treatment = _arm_counts(summary, "treatment")
    shares = (1 - settings.treatment_share, settings.treatment_share)
    srm = srm_p_value((control.exposures, treatment.exposures), shares)
    final = final or (settings.max_duration is not None and elapsed >= settings.max_duration)
    both_exposed = control.exposures > 0 and treatment.exposures > 0
    effect = _effect(control, treatment, settings, daily_looks(summary.daily)) if both_exposed else None
    planned = _planned_per_arm(control, settings)

    def verdict(decision: Decision, reason: str) -> ExperimentAnalysis:
        return ExperimentAnalysis(
            decision=decision,
            reason=reason,
            sequential=settings.sequential,
            alpha=settings.alpha,
            alternative=settings.alternative,
            final=final,
            elapsed_seconds=elapsed.total_seconds(),
            control=_arm_result(summary.arms["control"], control, settings.alpha),
            treatment=_arm_result(summary.arms["treatment"], treatment, settings.alpha),
            difference=effect.difference if effect else None,
            difference_ci_low=effect.difference_ci.low if effect else None,
            difference_ci_high=effect.difference_ci.high if effect else None,
            lift=effect.lift if effect else None,
            lift_ci_low=effect.lift_ci.low if effect else None,
            lift_ci_high=effect.lift_ci.high if effect else None,
            z=effect.z if effect else None,
            p_value=effect.p_value if effect else None,
            srm_p_value=srm,
            looks=effect.looks if effect else 0,
            planned_per_arm=planned,
            mixing_effect=settings.effective_mixing_effect if settings.sequential else None,
            value=_value_result(summary, settings),
            settings=settings,
        )

    if srm < settings.srm_alpha:
        return verdict("halted", _srm_reason(control, treatment, settings, srm))
    smallest = min((control, treatment), key=lambda arm: arm.exposures)
    if smallest.exposures < settings.min_samples_per_arm:
        if final:
            return verdict(
                "halted",
                (
                    f"stopped with too little data: the {smallest.name} arm has "
                    f"{smallest.exposures} exposures, fewer than the {settings.min_samples_per_arm} "
                    "per arm needed for any decision"
                    f"{_at_max_duration(settings, elapsed)}"
                ),
            )
        return verdict(
            "continue",
            (
                f"collecting data: the {smallest.name} arm has {smallest.exposures} of the "
                f"{settings.min_samples_per_arm} exposures per arm needed before any decision"
            ),
        )
    assert effect is not None  # both arms hold at least min_samples_per_arm >= 1 exposures
    if not final and settings.min_duration is not None and elapsed < settings.min_duration:
        return verdict(
            "continue",
            (
                f"waiting for the minimum duration: {_days(elapsed)} of "
                f"{_days(settings.min_duration)} so far, so that every weekday and weekend is compared "
                f"(lift so far {_signed(effect.lift)})"
            ),
        )
    if not settings.sequential and not final and (planned is None or smallest.exposures < planned):
        target = f"the planned {planned}" if planned else "a plannable number of"
        return verdict(
            "continue",
            (
                f"fixed-horizon test: {smallest.exposures} of {target} exposures per arm; reading it earlier "
                f"would inflate false positives (lift so far {_signed(effect.lift)})"
            ),
        )
    return verdict(*_conclusion(effect, control, treatment, settings, final, elapsed))


def _conclusion(
    effect: _Effect,
    control: ArmCounts,
    treatment: ArmCounts,
    settings: ExperimentSettings,
    final: bool,
    elapsed: timedelta,
) -> tuple[Decision, str]:
    kind = "always-valid p" if settings.sequential else "p"
    figures = (
        f"{treatment.rate:.2%} vs {control.rate:.2%} conversion, lift {_signed(effect.lift)} "
        f"(interval {_signed(effect.lift_ci.low)} to {_signed(effect.lift_ci.high)}), "
        f"{kind} = {effect.p_value:.3g}"
    )
    if effect.p_value <= settings.alpha:
        if effect.difference > 0:
            return "promote", f"treatment converts better: {figures} <= alpha {settings.alpha:g}"
        return "rollback", f"treatment converts worse: {figures} <= alpha {settings.alpha:g}"
    mde = settings.minimum_detectable_effect
    if settings.sequential and -mde < effect.lift_ci.low and effect.lift_ci.high < mde:
        return "inconclusive", (
            f"no difference worth having: the lift interval {_signed(effect.lift_ci.low)} to "
            f"{_signed(effect.lift_ci.high)} rules out any effect of ±{mde:.1%} or more ({figures})"
        )
    if settings.sequential and not final:
        return "continue", f"no significant difference yet: {figures} > alpha {settings.alpha:g}"
    when = _at_max_duration(settings, elapsed) or (
        " at the planned sample size" if not final else " in the final analysis"
    )
    return "inconclusive", f"no significant difference{when}: {figures} > alpha {settings.alpha:g}"


def _effect(
    control: ArmCounts, treatment: ArmCounts, settings: ExperimentSettings, history: list[Look]
) -> _Effect:
    """Difference, lift, their intervals and the p-value, fixed-horizon or sequential."""
    test = two_proportion_ztest(control, treatment, settings.alternative)
    lift = relative_lift(control, treatment)
    if not settings.sequential:
        return _Effect(
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
    p = always_valid_p(difference_log_lr(kc, nc, kt, nt, mixing))
    differences = kt / nt - kc / nc
    if settings.alternative == "greater":
        p = np.where(differences > 0, p, 1.0)
    elif settings.alternative == "less":
        p = np.where(differences < 0, p, 1.0)
    radius = difference_confidence_radius(kc, nc, kt, nt, mixing, settings.alpha)
    lift_low, lift_high = lift_confidence_bounds(kc, nc, kt, nt, mixing, settings.alpha)
    return _Effect(
        test.difference,
        _one_sided(
            _last_of_running_intersection(differences - radius, differences + radius),
            settings.alternative,
            1.0,
        ),
        lift,
        _one_sided(_last_of_running_intersection(lift_low, lift_high), settings.alternative, math.inf),
        test.z,
        float(running_min_p(p)[-1]),
        len(looks),
    )


def _last_of_running_intersection(lows: np.ndarray, highs: np.ndarray) -> Interval:
    """The confidence sequence's interval after the latest look.

    An empty intersection can only happen on a rare, unlucky path; the latest look's own interval
    is the honest answer then.
    """
    low, high = (float(bound[-1]) for bound in running_intersection(lows, highs))
    return Interval(low, high) if low <= high else Interval(float(lows[-1]), float(highs[-1]))


def _one_sided(interval: Interval, alternative: Alternative, highest: float) -> Interval:
    if alternative == "greater":
        return Interval(interval.low, highest)
    if alternative == "less":
        return Interval(-1.0, interval.high)
    return interval


def _arm_counts(summary: ExperimentSummary, name: str) -> ArmCounts:
    arm = summary.arms.get(name)
    if arm is None:
        raise ValidationError(
            f"arms: expected arms {' and '.join(ARMS)}, got {', '.join(sorted(summary.arms)) or 'none'}"
        )
    return ArmCounts(name, arm.exposures, arm.conversions)


def _arm_result(arm: ArmSummary, counts: ArmCounts, alpha: float) -> ArmResult:
    if counts.exposures == 0:
        return ArmResult(name=counts.name, model_version=arm.model_version, exposures=0, conversions=0)
    interval = wilson_interval(counts, alpha)
    return ArmResult(
        name=counts.name,
        model_version=arm.model_version,
        exposures=counts.exposures,
        conversions=counts.conversions,
        rate=counts.rate,
        rate_ci_low=interval.low,
        rate_ci_high=interval.high,
        value_per_lead=arm.value_sum / counts.exposures if arm.value_sum_sq > 0 else None,
    )


def _value_result(summary: ExperimentSummary, settings: ExperimentSettings) -> ValueResult | None:
    """Welch's test on value per lead, when both arms report values that vary."""
    arms = [summary.arms[name] for name in ARMS]
    if any(arm.exposures < 2 or arm.value_sum_sq == 0 for arm in arms):
        return None
    control, treatment = (
        ValueAggregate(name, arm.exposures, arm.value_sum, arm.value_sum_sq)
        for name, arm in zip(ARMS, arms, strict=True)
    )
    if control.variance == 0 and treatment.variance == 0:
        return None
    test = welch_test(control, treatment, settings.alpha, settings.alternative)
    return ValueResult(
        control_mean=test.control_mean,
        treatment_mean=test.treatment_mean,
        difference=test.difference,
        difference_ci_low=test.interval.low,
        difference_ci_high=test.interval.high,
        p_value=test.p_value,
        degrees_of_freedom=test.df,
    )


def _planned_per_arm(control: ArmCounts, settings: ExperimentSettings) -> int | None:
    """Fixed-horizon sample size from the configured (or else observed) baseline rate."""
    baseline = settings.baseline_rate
    if baseline is None:
        if control.exposures == 0 or not 0 < control.rate < 1:
            return None
        baseline = control.rate
    if baseline * (1 + settings.minimum_detectable_effect) >= 1:
        return None
    plan = plan_experiment(
        baseline,
        settings.minimum_detectable_effect,
        alpha=settings.alpha,
        power=settings.power,
        alternative=settings.alternative,
        treatment_share=settings.treatment_share,
    )
    return max(plan.per_arm, plan.treatment_per_arm)


def _srm_reason(control: ArmCounts, treatment: ArmCounts, settings: ExperimentSettings, p: float) -> str:
    expected = settings.traffic_percent
    return (
        f"sample ratio mismatch: {control.exposures} control vs {treatment.exposures} treatment exposures "
        f"for a {100 - expected:g}/{expected:g} split (p = {p:.2g} < {settings.srm_alpha:g}); assignment or "
        f"logging is broken, so no lift estimate can be trusted"
    )


def _at_max_duration(settings: ExperimentSettings, elapsed: timedelta) -> str:
    if settings.max_duration is not None and elapsed >= settings.max_duration:
        return f" at the maximum duration ({_days(settings.max_duration)})"
    return ""


def _days(duration: timedelta) -> str:
    days = duration.total_seconds() / 86400
    return f"{days:.1f} days" if days % 1 else f"{days:.0f} days"


def _signed(value: float) -> str:
    return percent(value, signed=True, digits=1)


def status_fields(analysis: ExperimentAnalysis) -> dict[str, Any]:
    """The camelCase fields of ``ABExperiment.status`` this analysis fills.

    ``decision`` is only set once reached (promote, rollback, inconclusive); for ``continue`` and
    ``halted`` it is None and ``decisionReason`` says why (a halted experiment is Stopped, which
    the operator records as its phase). Unbounded interval ends (one-sided tests) become None.
    """

    def arm(result: ArmResult) -> dict[str, Any]:
        return {
            "version": result.model_version,
            "exposures": result.exposures,
            "conversions": result.conversions,
            "rate": result.rate,
        }

    return {
        "control": arm(analysis.control),
        "treatment": arm(analysis.treatment),
        "lift": _finite(analysis.lift),
        "liftLower": _finite(analysis.lift_ci_low),
        "liftUpper": _finite(analysis.lift_ci_high),
        "pValue": analysis.p_value,
        "srmPValue": analysis.srm_p_value,
        "decision": analysis.decision
        if analysis.decision in ("promote", "rollback", "inconclusive")
        else None,
        "decisionReason": analysis.reason,
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None

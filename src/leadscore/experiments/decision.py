"""The decision rule the operator applies to an experiment, and the figures behind it.

``decide`` is the one entry point: it takes the collector's ``ExperimentSummary``, the
experiment's ``ExperimentSettings`` and how long it has run, and returns an
``ExperimentAnalysis`` whose ``decision`` is one of

- ``halted``: the experiment cannot be trusted or cannot finish — a sample-ratio mismatch, or the
  maximum duration passed before each arm reached ``minSamplesPerArm``;
- ``continue``: not enough evidence yet, and waiting is still allowed;
- ``promote`` / ``rollback``: the treatment is significantly better / worse on the deciding
  metric (``metric``: conversion rate, or value per lead);
- ``inconclusive``: the experiment is over (maximum duration, the planned horizon of a fixed
  test, or a sequential interval that rules out any effect as large as the MDE) without a
  significant difference.

The checks run in that order, so a broken split is never reported as a winner. ``status_fields``
turns the analysis into the camelCase fields of ``ABExperiment.status``.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from leadscore.api.summary import ArmSummary, ExperimentSummary
from leadscore.errors import InvalidInputError
from leadscore.experiments.effects import Effect, conversion_effect, moments_effect, planned_per_arm, value_effect
from leadscore.experiments.formatting import percent
from leadscore.experiments.proportions import Alternative, ArmCounts, wilson_interval
from leadscore.experiments.settings import Design, ExperimentSettings, Metric
from leadscore.experiments.srm import srm_p_value
from leadscore.experiments.timeline import ARMS, Look, daily_looks
from leadscore.experiments.value import ValueAggregate, welch_test

Decision = Literal["promote", "rollback", "inconclusive", "continue", "halted"]
VarianceReductionState = Literal["applied", "off", "unavailable"]
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
    mean_score: float | None = Field(None, description="Average score the arm gave its leads, when logged.")
    mean_hours_to_conversion: float | None = Field(None, description="Average hours from exposure to conversion "
                                                                     "of the leads that converted.")
    acceptance_reports: int = Field(0, ge=0, description="Leads with a lead-acceptance report from sales.")
    acceptance_rate: float | None = Field(None, description="Of those, the share sales accepted.")


class ValueResult(BaseModel):
    """Welch's t-test on outcome value per lead: reported whenever values vary, decides for metric value."""

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
    metric: Metric = Field(description="The metric that decided: conversion rate or value per lead.")
    sequential: bool = Field(description="Any sequential design (mSPRT or planned).")
    design: Design = Field("msprt", description="fixed, msprt (always-valid) or planned (alpha spending).")
    alpha: float
    alternative: Alternative
    final: bool = Field(description="True when this was the last look (maximum duration or the caller said so).")
    elapsed_seconds: float
    control: ArmResult
    treatment: ArmResult
    difference: float | None = Field(None, description="Treatment minus control (rate, or mean value).")
    difference_ci_low: float | None = None
    difference_ci_high: float | None = None
    lift: float | None = Field(None, description="Relative lift: treatment / control - 1 (rate or mean value).")
    lift_ci_low: float | None = None
    lift_ci_high: float | None = None
    statistic: float | None = Field(
        None, description="Pooled z (conversion) or Welch's t (value) of the snapshot, on the fixed-horizon scale."
    )
    p_value: float | None = Field(
        None, description="Always-valid p-value when sequential, else the z-test's (Welch's for value)."
    )
    srm_p_value: float
    looks: int = Field(0, description="Looks the sequential p-value and interval were accumulated over.")
    planned_per_arm: int | None = Field(None, description="Fixed-horizon sample size per arm for the MDE.")
    mixing_effect: float | None = Field(None, description="Relative lift the mSPRT mixture's τ stands for.")
    information: float | None = Field(None, description="Planned design: share of the planned maximum reached.")
    variance_reduction: VarianceReductionState = Field(
        "off",
        description="applied: conversion was adjusted for the control model's pre-treatment score and decided; "
        "unavailable: wanted, but some exposures carry no score; off: not asked for (or metric value).",
    )
    variance_reduction_share: float | None = Field(
        None, description="Share of the lift estimate's variance the adjustment removed (0.2 = 20 %)."
    )
    adjusted_lift: float | None = Field(None, description="Regression-adjusted relative lift, when applied.")
    adjusted_lift_ci_low: float | None = None
    adjusted_lift_ci_high: float | None = None
    value: ValueResult | None = None
    settings: ExperimentSettings = Field(description="The settings this analysis applied.")

    @property
    def concluded(self) -> bool:
        """True once the experiment should stop (whatever the outcome)."""
        return self.decision in CONCLUSIVE


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
        raise InvalidInputError(f"elapsed: must not be negative, got {elapsed}")
    control = _arm_counts(summary, "control")
    treatment = _arm_counts(summary, "treatment")
    values = _value_aggregates(summary)
    shares = (1 - settings.treatment_share, settings.treatment_share)
    srm = srm_p_value((control.exposures, treatment.exposures), shares)
    final = final or (settings.max_duration is not None and elapsed >= settings.max_duration)
    planned = planned_per_arm(settings.metric, control, values[0] if values else None, settings)
    raw, adjusted, reduction = _effects(summary, control, treatment, values, settings, final, planned)
    effect = adjusted or raw

    def verdict(decision: Decision, reason: str) -> ExperimentAnalysis:
        return ExperimentAnalysis(
            decision=decision,
            reason=reason,
            metric=settings.metric,
            sequential=settings.design != "fixed",
            design=settings.design,
            alpha=settings.alpha,
            alternative=settings.alternative,
            final=final,
            elapsed_seconds=elapsed.total_seconds(),
            control=_arm_result(summary.arms["control"], control, settings.alpha, _values_reported(summary)),
            treatment=_arm_result(summary.arms["treatment"], treatment, settings.alpha, _values_reported(summary)),
            difference=raw.difference if raw else None,
            difference_ci_low=raw.difference_ci.low if raw else None,
            difference_ci_high=raw.difference_ci.high if raw else None,
            lift=raw.lift if raw else None,
            lift_ci_low=raw.lift_ci.low if raw else None,
            lift_ci_high=raw.lift_ci.high if raw else None,
            statistic=effect.statistic if effect else None,
            p_value=effect.p_value if effect else None,
            srm_p_value=srm,
            looks=effect.looks if effect else 0,
            planned_per_arm=planned,
            mixing_effect=effect.mixing_effect if effect else None,
            information=effect.information if effect else None,
            variance_reduction=reduction,
            variance_reduction_share=adjusted.variance_reduction if adjusted else None,
            adjusted_lift=adjusted.lift if adjusted else None,
            adjusted_lift_ci_low=adjusted.lift_ci.low if adjusted else None,
            adjusted_lift_ci_high=adjusted.lift_ci.high if adjusted else None,
            value=_value_result(values, settings),
            settings=settings,
        )

    if srm < settings.srm_alpha:
        return verdict("halted", _srm_reason(control, treatment, settings, srm))
    smallest = min((control, treatment), key=lambda arm: arm.exposures)
    if smallest.exposures < settings.min_samples_per_arm:
        if final:
            return verdict(
                "halted",
                f"stopped with too little data: the {smallest.name} arm has {smallest.exposures} exposures, "
                f"fewer than the {settings.min_samples_per_arm} per arm needed for any decision"
                f"{_at_max_duration(settings, elapsed)}",
            )
        return verdict(
            "continue",
            f"collecting data: the {smallest.name} arm has {smallest.exposures} of the "
            f"{settings.min_samples_per_arm} exposures per arm needed before any decision",
        )
    if effect is None:  # only the value metric can lack an effect once both arms have exposures
        if final:
            return verdict("inconclusive", f"no outcome values vary in either arm{_at_max_duration(settings, elapsed)}")
        return verdict("continue", "waiting for outcome values: none vary in either arm yet")
    if not final and settings.min_duration is not None and elapsed < settings.min_duration:
        return verdict(
            "continue",
            f"waiting for the minimum duration: {_days(elapsed)} of {_days(settings.min_duration)} so far, "
            f"so that every weekday and weekend is compared (lift so far {_signed(effect.lift)})",
        )
    if settings.design == "fixed" and not final and (planned is None or smallest.exposures < planned):
        target = f"the planned {planned}" if planned else "a plannable number of"
        return verdict(
            "continue",
            f"fixed-horizon test: {smallest.exposures} of {target} exposures per arm; reading it earlier "
            f"would inflate false positives (lift so far {_signed(effect.lift)})",
        )
    if settings.design == "planned" and planned is None and not final:
        return verdict("continue", "group-sequential test: waiting for a control rate to plan the maximum size")
    return verdict(*_conclusion(effect, settings, final, elapsed))


def _effects(
    summary: ExperimentSummary,
    control: ArmCounts,
    treatment: ArmCounts,
    values: tuple[ValueAggregate, ValueAggregate] | None,
    settings: ExperimentSettings,
    final: bool,
    planned: int | None,
) -> tuple[Effect | None, Effect | None, VarianceReductionState]:
    """(raw effect, adjusted effect or None, variance-reduction state); the adjusted one decides.

    None while the effect cannot be computed (an empty arm, no values). Adjustment applies to
    conversion when asked for and every exposure of both arms carries the covariate; the
    sequential looks are the daily looks that are complete as well (any subset of looks keeps
    the always-valid guarantee).
    """
    wanted = settings.variance_reduction == "auto" and settings.metric == "conversion"
    if settings.metric == "value":
        if values is None or (values[0].variance == 0 and values[1].variance == 0):
            return None, None, "off"
        return value_effect(*values, settings), None, "off"
    if control.exposures == 0 or treatment.exposures == 0:
        return None, None, "off" if not wanted else "unavailable"
    history = daily_looks(summary.daily)
    arms = summary.arms
    current = Look(None, control, treatment, arms["control"], arms["treatment"])
    maximum = settings.expected_samples_per_arm or planned
    if settings.design == "planned":
        looks = [look for look in history if look.both_exposed] + [current]
        raw = moments_effect(looks, settings, adjust=False, final=final, maximum_per_arm=maximum)
    else:
        raw = conversion_effect(control, treatment, settings, history)
    if not wanted:
        return raw, None, "off"
    if not current.covariate_complete or current.control_covariate.covariate_count == 0:
        return raw, None, "unavailable"
    looks = [look for look in history if look.both_exposed and look.covariate_complete] + [current]
    adjusted = moments_effect(looks, settings, adjust=True, final=final, maximum_per_arm=maximum)
    return raw, adjusted, "applied"


VERBS = {"conversion": ("converts better", "converts worse"), "value": ("earns more per lead", "earns less per lead")}


def _conclusion(effect: Effect, settings: ExperimentSettings, final: bool, elapsed: timedelta) -> tuple[Decision, str]:
    kind = {"msprt": "always-valid p", "planned": "repeated p", "fixed": "p"}[settings.design]
    figures = (
        f"{effect.levels}, lift {_signed(effect.lift)} "
        f"(interval {_signed(effect.lift_ci.low)} to {_signed(effect.lift_ci.high)}), "
        f"{kind} = {effect.p_value:.3g}"
    )
    better, worse = VERBS[effect.metric]
    if effect.p_value <= settings.alpha:
        if effect.difference <= 0:
            return "rollback", f"treatment {worse}: {figures} <= alpha {settings.alpha:g}"
        required = settings.minimum_lift
        # a control at zero gives no finite lift (nan): any improvement on nothing clears the bar
        if required == 0 or not math.isfinite(effect.lift) or effect.lift >= required:
            return "promote", f"treatment {better}: {figures} <= alpha {settings.alpha:g}"
        short = f"treatment {better}, but by less than the {_signed(required)} required to switch ({figures})"
        if effect.lift_ci.high < required or final or settings.design != "msprt":
            return "inconclusive", short
        return "continue", short
    mde = settings.minimum_detectable_effect
    if settings.design == "msprt" and -mde < effect.lift_ci.low and effect.lift_ci.high < mde:
        return "inconclusive", (
            f"no difference worth having: the lift interval {_signed(effect.lift_ci.low)} to "
            f"{_signed(effect.lift_ci.high)} rules out any effect of ±{mde:.1%} or more ({figures})"
        )
    if settings.design == "msprt" and not final:
        return "continue", f"no significant difference yet: {figures} > alpha {settings.alpha:g}"
    if settings.design == "planned" and not final and (effect.information or 0) < 1:
        return "continue", (
            f"group-sequential test at {effect.information or 0:.0%} of its planned maximum, boundary not "
            f"crossed: {figures} > alpha {settings.alpha:g}"
        )
    when = _at_max_duration(settings, elapsed) or (" in the final analysis" if final else " at the planned sample size")
    return "inconclusive", f"no significant difference{when}: {figures} > alpha {settings.alpha:g}"


def _arm_counts(summary: ExperimentSummary, name: str) -> ArmCounts:
    arm = summary.arms.get(name)
    if arm is None:
        raise InvalidInputError(
            f"arms: expected arms {' and '.join(ARMS)}, got {', '.join(sorted(summary.arms)) or 'none'}"
        )
    return ArmCounts(name, arm.exposures, arm.conversions)


def _values_reported(summary: ExperimentSummary) -> bool:
    """Outcome values exist in this experiment (an arm with only zero values still has a mean: 0)."""
    return any(summary.arms[name].value_sum_sq > 0 for name in ARMS)


def _arm_result(arm: ArmSummary, counts: ArmCounts, alpha: float, values_reported: bool) -> ArmResult:
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
        value_per_lead=arm.value_sum / counts.exposures if values_reported else None,
        mean_score=arm.mean_score(),
        mean_hours_to_conversion=arm.mean_hours_to_conversion(),
        acceptance_reports=arm.acceptance_reports,
        acceptance_rate=arm.acceptance_rate(),
    )


def _value_aggregates(summary: ExperimentSummary) -> tuple[ValueAggregate, ValueAggregate] | None:
    """Both arms' value sums, once values are reported and each arm has at least two leads."""
    arms = [summary.arms[name] for name in ARMS]
    if not _values_reported(summary) or any(arm.exposures < 2 for arm in arms):
        return None
    control, treatment = (
        ValueAggregate(name, arm.exposures, arm.value_sum, arm.value_sum_sq)
        for name, arm in zip(ARMS, arms, strict=True)
    )
    return control, treatment


def _value_result(
    values: tuple[ValueAggregate, ValueAggregate] | None, settings: ExperimentSettings
) -> ValueResult | None:
    """Welch's test on value per lead, reported whichever metric decides."""
    if values is None or (values[0].variance == 0 and values[1].variance == 0):
        return None
    test = welch_test(*values, settings.alpha, settings.alternative)
    return ValueResult(
        control_mean=test.control_mean,
        treatment_mean=test.treatment_mean,
        difference=test.difference,
        difference_ci_low=test.interval.low,
        difference_ci_high=test.interval.high,
        p_value=test.p_value,
        degrees_of_freedom=test.df,
    )


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
            "rate": result.value_per_lead if analysis.metric == "value" else result.rate,
            "meanScore": result.mean_score,
            "meanHoursToConversion": result.mean_hours_to_conversion,
            "acceptanceRate": result.acceptance_rate,
        }

    return {
        "control": arm(analysis.control),
        "treatment": arm(analysis.treatment),
        "lift": _finite(analysis.lift),
        "liftLower": _finite(analysis.lift_ci_low),
        "liftUpper": _finite(analysis.lift_ci_high),
        "pValue": analysis.p_value,
        "srmPValue": analysis.srm_p_value,
        "decision": analysis.decision if analysis.decision in ("promote", "rollback", "inconclusive") else None,
        "decisionReason": analysis.reason,
        "varianceReduction": analysis.variance_reduction,
        "varianceReductionShare": analysis.variance_reduction_share,
        "adjustedLift": _finite(analysis.adjusted_lift),
        "adjustedLiftLower": _finite(analysis.adjusted_lift_ci_low),
        "adjustedLiftUpper": _finite(analysis.adjusted_lift_ci_high),
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None

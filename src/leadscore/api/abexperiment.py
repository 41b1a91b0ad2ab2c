"""``ABExperiment``: two arms of one LeadScoringModel, a split, and a stopping rule (docs/operator.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal

from pydantic import ConfigDict, Field, JsonValue

from leadscore.api.base import ApiModel
from leadscore.api.conditions import Condition

VarianceReduction = Literal["auto", "off"]
"""Whether an analysis adjusts for the pre-treatment score (CUPED/CUPAC) when it can."""

RULES: Final = "rules"
"""The arm name of the rule-based baseline scoring (no model artifact)."""


def splits_in_kserve(assignment: str, control: str, treatment: str) -> bool:
    """Whether KServe performs the split: a random split of two model versions is its canary;
    a sticky split, or one with the rules arm, is hashed by the predictor."""
    return assignment == "random" and RULES not in (control, treatment)


def experiment_salt(namespace: str, experiment: str) -> str:
    """The sticky split's hash salt for one experiment: the operator gives it to the predictor and
    ``leadscore experiment assign`` hashes with it, so both put a lead in the same arm."""
    return f"{namespace}/{experiment}"


ARM_PATTERN = r"^(v[1-9][0-9]*|rules)$"
DURATION_PATTERN = r"^([0-9]+(d|h|m|s))+$"


class ArmRef(ApiModel):
    """What one arm serves."""

    version: str = Field(pattern=ARM_PATTERN, max_length=16,
                         description="A model version (v3) of the referenced model, or 'rules' for "
                                     "the rule-based baseline scoring.")


EXPERIMENT_RULES: list[JsonValue] = [
    {"rule": "self.control.version != self.treatment.version",
     "message": "control and treatment must be different versions", "fieldPath": ".treatment.version"},
    {"rule": "self.modelRef == oldSelf.modelRef",
     "message": "modelRef is immutable; create a new ABExperiment", "fieldPath": ".modelRef"},
    {"rule": "!has(self.alphaSpending) || (self.sequential && self.metric == 'conversion')",
     "message": "alphaSpending needs sequential: true and metric: conversion", "fieldPath": ".alphaSpending"},
    {"rule": "!has(self.winner) || self.stopped",
     "message": "winner is chosen when stopping: set stopped: true with it", "fieldPath": ".winner"},
    {"rule": "!has(self.winner) || "
             "(self.winner == 'control' ? self.control.version : self.treatment.version) != 'rules'",
     "message": "winner cannot be the rules arm: it has no model version to promote", "fieldPath": ".winner"},
]


class ABExperimentSpec(ApiModel):
    """Desired state of an ABExperiment."""

    model_config = ConfigDict(json_schema_extra={"x-kubernetes-validations": EXPERIMENT_RULES})

    model_ref: str = Field(min_length=1, max_length=63, pattern=r"^[a-z]([-a-z0-9]*[a-z0-9])?$",
                           description="Name of the LeadScoringModel (same namespace) under test.")
    control: ArmRef = Field(description="The arm that serves today (usually the active version).")
    treatment: ArmRef = Field(description="The challenger arm.")
    traffic_percent: int = Field(50, ge=1, le=99,
                                 description="Percent of leads sent to the treatment arm.")
    assignment: Literal["random", "sticky"] = Field(
        "sticky", description="random: KServe canary split per request; sticky: hash of the lead id, "
                              "so a lead always sees the same arm.")
    metric: Literal["conversion", "value"] = Field(
        "conversion", description="conversion: conversion rate; value: mean outcome value per lead.")
    alpha: float = Field(0.05, gt=0.0, le=0.2, description="Significance level (two-sided).")
    minimum_detectable_effect: float = Field(
        0.05, gt=0.0, le=10.0,
        description="Smallest relative lift worth detecting (0.05 = +5%); sizes the experiment.")
    minimum_lift: float = Field(0.0, ge=0.0, le=10.0,
                                description="Smallest measured relative lift that promotes (0.02 = +2%); a "
                                            "significant but smaller improvement keeps the control.")
    min_samples_per_arm: int = Field(1000, ge=10, le=100_000_000,
                                     description="No decision before each arm has this many exposures.")
    sequential: bool = Field(True, description="Always-valid (sequential) inference: looking at results "
                                               "every evaluation does not inflate false positives.")
    alpha_spending: Literal["obrien-fleming", "pocock"] | None = Field(
        None, description="Set for a group-sequential design instead of the always-valid test, for teams that "
                          "look at planned times: alpha is spent over the looks (O'Brien-Fleming: strict early, "
                          "Pocock: even) up to expectedSamplesPerArm (default: the fixed-horizon plan for the "
                          "MDE). Needs sequential: true and metric: conversion.")
    variance_reduction: VarianceReduction = Field(
        "auto", description="auto: decide on conversion adjusted for the control model's pre-treatment score "
                            "(CUPED/CUPAC) whenever every exposure carries one; off: never adjust.")
    expected_samples_per_arm: int | None = Field(
        None, ge=10, le=100_000_000,
        description="Exposures per arm the experiment is expected to reach (traffic × duration): tunes the "
                    "sequential test to decide by then, and is the maximum of an alphaSpending design. "
                    "Default: tuned to the MDE alone.")
    min_duration: str | None = Field(None, pattern=DURATION_PATTERN, max_length=32,
                                     description="No promote or rollback before this long, e.g. 14d so that "
                                                 "whole weeks are compared (a broken split still halts at "
                                                 "once; maxDuration wins if it is shorter).")
    max_duration: str = Field("14d", pattern=DURATION_PATTERN, max_length=32,
                              description="Stop with the evidence at hand after this long, e.g. 14d, 36h.")
    on_success: Literal["promote", "none"] = Field(
        "promote", description="promote: a winning treatment becomes the model's served version.")
    stopped: bool = Field(False, description="Set true to end the experiment now, before a decision: the "
                                             "model's traffic goes back to the control arm's serving, nothing "
                                             "is promoted unless winner is set, and it never runs again "
                                             "(phase Stopped). The results so far stay in status.")
    winner: Literal["control", "treatment"] | None = Field(
        None, description="With stopped: the arm the operator promotes on stopping, whatever the statistics say "
                          "(its model version becomes the active one); left out, nothing is promoted. The "
                          "rules arm cannot win: it has no model version.")


def winner_version(spec: ABExperimentSpec) -> str | None:
    """The model version ``spec.winner`` names, when set."""
    if spec.winner is None:
        return None
    return (spec.control if spec.winner == "control" else spec.treatment).version


class ServingClaim(ApiModel):
    """The split an ABExperiment asks its model to serve: the experiment's reconciler states it on
    the ABExperiment, the LeadScoringModel's reconciler serves it (docs/operator.md, who writes what)."""

    assignment: Literal["random", "sticky"] = Field(description="random (KServe canary) or sticky (hash).")
    control: str = Field(description="Control arm: a version or 'rules'.")
    treatment: str = Field(description="Treatment arm: a version or 'rules'.")
    traffic_percent: int = Field(ge=0, le=100, description="Percent of leads sent to treatment.")


class ArmStatus(ApiModel):
    """Observed counts and rate of one arm."""

    version: str = Field(description="Version (or 'rules') the arm serves.")
    exposures: int = Field(0, ge=0, description="Distinct leads scored by the arm.")
    conversions: int = Field(0, ge=0, description="Of those, leads that converted.")
    rate: float | None = Field(None, description="Conversion rate (or mean value for metric value).")
    mean_score: float | None = Field(None, description="Average score (0-100) the arm gave its leads.")
    mean_hours_to_conversion: float | None = Field(
        None, description="Average hours from a lead's first exposure to its conversion, over converted leads.")
    acceptance_rate: float | None = Field(
        None, description="Share of the leads with a lead-acceptance report that sales accepted.")


class ABExperimentStatus(ApiModel):
    """Observed state of an ABExperiment (written by the operator only)."""

    phase: str | None = Field(None, description="Pending, Running, Concluded or Stopped; from conditions.")
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
        description="Running and Concluded conditions.")
    observed_generation: int | None = Field(None, description="metadata.generation last acted on.")
    started: datetime | None = Field(None, description="When traffic was first split.")
    concluded: datetime | None = Field(None, description="When the decision was applied.")
    last_evaluated: datetime | None = Field(None, description="Last time the statistics were computed.")
    control: ArmStatus | None = Field(None, description="Control arm counts.")
    treatment: ArmStatus | None = Field(None, description="Treatment arm counts.")
    lift: float | None = Field(None, description="Relative lift of treatment over control.")
    lift_lower: float | None = Field(None, description="Lower bound of the lift's confidence interval.")
    lift_upper: float | None = Field(None, description="Upper bound of the lift's confidence interval.")
    p_value: float | None = Field(None, description="p-value of the difference (always-valid if sequential).")
    srm_p_value: float | None = Field(None, description="Sample-ratio-mismatch p-value; small means the "
                                                        "split is broken and results are not trusted.")
    decision: Literal["promote", "rollback", "inconclusive"] | None = Field(
        None, description="promote, rollback or inconclusive, once reached.")
    decision_reason: str | None = Field(None, description="Why the decision was taken.")
    variance_reduction: Literal["applied", "off", "unavailable"] | None = Field(
        None, description="applied: the decision used conversion adjusted for the control model's score; "
                          "unavailable: wanted, but some exposures carry no score; off: not asked for.")
    variance_reduction_share: float | None = Field(
        None, description="Share of the lift estimate's variance the adjustment removed (0.2 = 20%).")
    adjusted_lift: float | None = Field(None, description="Relative lift adjusted for the pre-treatment score.")
    adjusted_lift_lower: float | None = Field(None, description="Lower bound of the adjusted lift's interval.")
    adjusted_lift_upper: float | None = Field(None, description="Upper bound of the adjusted lift's interval.")
    claim: ServingClaim | None = Field(
        None, description="The split this experiment asks its model to serve; set while it wants to run, "
                          "cleared when it ends. The model's reconciler serves it when the model is free "
                          "and names the holder in the model's status.experiment.")
    winner_version: str | None = Field(
        None, description="Version the model serves to every lead once it lets this experiment go (the "
                          "treatment that won, or spec.winner's); unset: the model keeps its active version.")

"""What the decision rule needs to know about an experiment besides its counts.

``ExperimentSettings.from_spec`` is the one mapping from ``ABExperiment.spec``; the defaults the
CR and this model share are read from ``ABExperimentSpec``, and the CLI takes its defaults from
the same place, so ``leadscore experiment`` with default flags decides what the operator decides.
``maxDuration`` / ``minDuration`` accept the CR's compact form (``14d``, ``36h``, ``1d12h``) as
well as anything pydantic reads as a timedelta.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from leadscore.api.abexperiment import ABExperimentSpec, VarianceReduction
from leadscore.experiments.group_sequential import Spending
from leadscore.experiments.proportions import Alternative
from leadscore.experiments.sequential import Mixing
from leadscore.experiments.srm import DEFAULT_SRM_ALPHA

Metric = Literal["conversion", "value"]
Design = Literal["fixed", "msprt", "planned"]

_CR = ABExperimentSpec.model_fields
DEFAULT_MINIMUM_DETECTABLE_EFFECT: float = _CR["minimum_detectable_effect"].default
"""+5 % relative lift: the ABExperiment CRD's default, so a CLI analysis matches the operator's."""

_DURATION = re.compile(r"^(?:[0-9]+[dhms])+$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """'14d', '36h', '1d12h30m' -> timedelta; the format ABExperiment's maxDuration uses."""
    if not _DURATION.match(text):
        raise ValueError(f"expected a duration such as 14d, 36h or 1d12h, got {text!r}")
    return timedelta(seconds=sum(int(n) * _UNIT_SECONDS[u] for n, u in re.findall(r"([0-9]+)([dhms])", text)))


class ExperimentSettings(BaseModel):
    """Error rates, stopping rules and split of one experiment."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    alpha: float = Field(_CR["alpha"].default, gt=0.0, lt=0.5, description="Significance level (false-positive rate).")
    minimum_detectable_effect: float = Field(
        DEFAULT_MINIMUM_DETECTABLE_EFFECT,
        gt=0.0,
        le=10.0,
        description="Smallest relative lift worth detecting (0.05 = +5 %). Sizes a fixed-horizon test, "
        "centres the sequential test's mixing distribution, and defines 'too small to matter'.",
    )
    minimum_lift: float = Field(
        _CR["minimum_lift"].default,
        ge=0.0,
        le=10.0,
        description="Smallest measured relative lift that promotes (0.02 = +2 %): a significant but smaller "
        "improvement keeps the control, as switching models has a cost of its own.",
    )
    power: float = Field(0.8, ge=0.5, lt=1.0, description="Wanted chance of detecting an effect of the MDE.")
    min_samples_per_arm: int = Field(_CR["min_samples_per_arm"].default, ge=1,
                                     description="No decision before each arm has this many exposures.")
    sequential: bool = Field(_CR["sequential"].default,
                             description="Always-valid inference (mSPRT): safe to evaluate at every look.")
    alpha_spending: Spending | None = Field(
        None,
        description="Set (obrien-fleming | pocock) for a group-sequential design instead of the mSPRT: alpha is "
        "spent over the looks up to expectedSamplesPerArm (default: the fixed-horizon plan). Needs sequential.",
    )
    variance_reduction: VarianceReduction = Field(
        "auto",
        description="auto: adjust conversion for the control model's pre-treatment score (CUPED/CUPAC) whenever "
        "every exposure carries one; off: never.",
    )
    expected_samples_per_arm: int | None = Field(
        None,
        ge=1,
        description="Exposures per arm the experiment is expected to reach: tunes the mSPRT, and is the maximum "
        "of an alphaSpending design (default: the fixed-horizon plan for the MDE).",
    )
    metric: Metric = Field("conversion", description="What decides: conversion rate, or mean outcome value per lead.")
    traffic_percent: float = Field(float(_CR["traffic_percent"].default), gt=0.0, lt=100.0,
                                   description="Percent of leads sent to treatment.")
    max_duration: timedelta | None = Field(parse_duration(_CR["max_duration"].default),
                                           description="After this long, decide with the evidence at hand.")
    min_duration: timedelta | None = Field(
        None, description="No promote/rollback before this long (e.g. 14d so that whole weeks are compared)."
    )
    alternative: Alternative = Field("two-sided", description="'greater' can only ever promote.")
    srm_alpha: float = Field(DEFAULT_SRM_ALPHA, gt=0.0, lt=0.5, description="Threshold of the sample-ratio check.")
    mixing_effect: float | None = Field(
        None,
        gt=0.0,
        description="Fix the mSPRT mixture's τ to this relative lift; default: tuned from the MDE and the "
        "expected sample size.",
    )
    baseline_rate: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="Control conversion rate for planning a fixed-horizon test; default: the observed one.",
    )

    @field_validator("max_duration", "min_duration", mode="before")
    @classmethod
    def _compact_duration(cls, value: Any) -> Any:
        if isinstance(value, str) and _DURATION.match(value):
            return parse_duration(value)
        return value

    @classmethod
    def from_spec(cls, spec: ABExperimentSpec) -> ExperimentSettings:
        """The settings an ABExperiment's spec asks for: what the operator decides with."""
        return cls(alpha=spec.alpha, minimum_detectable_effect=spec.minimum_detectable_effect,
                   minimum_lift=spec.minimum_lift, min_samples_per_arm=spec.min_samples_per_arm,
                   sequential=spec.sequential, metric=spec.metric, traffic_percent=spec.traffic_percent,
                   min_duration=spec.min_duration, max_duration=spec.max_duration,
                   alpha_spending=spec.alpha_spending, variance_reduction=spec.variance_reduction,
                   expected_samples_per_arm=spec.expected_samples_per_arm)

    @model_validator(mode="after")
    def _planned_is_sequential_two_sided_conversion(self) -> ExperimentSettings:
        if self.alpha_spending is None:
            return self
        if not self.sequential:
            raise ValueError("alphaSpending: a group-sequential design is sequential; it needs sequential: true")
        if self.metric != "conversion" or self.alternative != "two-sided":
            raise ValueError(
                "alphaSpending: the group-sequential design supports metric conversion with a two-sided "
                f"alternative, got metric {self.metric}, alternative {self.alternative}"
            )
        return self

    @property
    def treatment_share(self) -> float:
        return self.traffic_percent / 100.0

    @property
    def design(self) -> Design:
        if self.alpha_spending is not None:
            return "planned"
        return "msprt" if self.sequential else "fixed"

    @property
    def mixing(self) -> Mixing:
        """How the mSPRT's τ is chosen (``sequential.Mixing``)."""
        return Mixing(
            self.minimum_detectable_effect,
            self.alpha,
            self.power,
            expected_per_arm=self.expected_samples_per_arm,
            treatment_ratio=self.treatment_share / (1 - self.treatment_share),
            fixed_effect=self.mixing_effect,
        )

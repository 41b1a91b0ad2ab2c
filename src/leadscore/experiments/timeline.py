"""Cumulative looks at an experiment, one per day, from the collector's daily counts.

The sequential test's p-value is a running minimum and its confidence sequence a running
intersection *over looks*; the report draws the same looks as a time series. A look is what an
observer could have seen at the end of that day: everything up to and including it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from leadscore.api.summary import CovariateSums, DailyArmCount
from leadscore.errors import InvalidInputError
from leadscore.experiments.adjustment import ArmMoments
from leadscore.experiments.proportions import ArmCounts

ARMS = ("control", "treatment")


@dataclass(frozen=True)
class Look:
    """Both arms' cumulative counts at the end of ``day`` (``None`` for the current snapshot)."""

    day: date | None
    control: ArmCounts
    treatment: ArmCounts
    control_covariate: CovariateSums = field(default_factory=CovariateSums)
    treatment_covariate: CovariateSums = field(default_factory=CovariateSums)

    @property
    def both_exposed(self) -> bool:
        return self.control.exposures > 0 and self.treatment.exposures > 0

    @property
    def covariate_complete(self) -> bool:
        """Every exposure of both arms carries the covariate (the adjustment needs all of them)."""
        return (
            self.control_covariate.covariate_count == self.control.exposures
            and self.treatment_covariate.covariate_count == self.treatment.exposures
        )


def daily_looks(daily: Sequence[DailyArmCount]) -> list[Look]:
    """Cumulative counts per arm at the end of each day present in ``daily``, oldest first."""
    unknown = sorted({row.arm for row in daily} - set(ARMS))
    if unknown:
        raise InvalidInputError(f"daily.arm: expected 'control' or 'treatment', got {', '.join(map(repr, unknown))}")
    by_day: dict[date, list[DailyArmCount]] = defaultdict(list)
    for row in daily:
        by_day[row.day].append(row)
    totals = {arm: [0, 0] for arm in ARMS}
    sums = {arm: np.zeros(4) for arm in ARMS}
    looks: list[Look] = []
    for day in sorted(by_day):
        for row in by_day[day]:
            totals[row.arm][0] += row.exposures
            totals[row.arm][1] += row.conversions
            sums[row.arm] += _covariate_vector(row)
        counts = {arm: ArmCounts(f"daily[{day}].{arm}", *totals[arm]) for arm in ARMS}
        covariates = {arm: _covariate_sums(sums[arm]) for arm in ARMS}
        looks.append(Look(day, counts["control"], counts["treatment"], covariates["control"], covariates["treatment"]))
    return looks


def _covariate_vector(sums: CovariateSums) -> np.ndarray:
    return np.array(
        [sums.covariate_count, sums.covariate_sum, sums.covariate_sum_sq, sums.covariate_conversion_sum], dtype=float
    )


def _covariate_sums(vector: np.ndarray) -> CovariateSums:
    count, total, squares, converted = vector.tolist()
    return CovariateSums(
        covariate_count=round(count), covariate_sum=total, covariate_sum_sq=squares, covariate_conversion_sum=converted
    )


def look_moments(looks: Sequence[Look]) -> tuple[ArmMoments, ArmMoments]:
    """Each arm's sums per look (n, Σy, Σx, Σx², Σxy) for the regression-adjusted statistics."""

    def arm(counts: list[ArmCounts], covariates: list[CovariateSums]) -> ArmMoments:
        x = np.array([_covariate_vector(c) for c in covariates]).reshape(-1, 4)
        return ArmMoments.of(
            [c.exposures for c in counts], [c.conversions for c in counts], x[:, 1], x[:, 2], x[:, 3]
        )

    return (
        arm([look.control for look in looks], [look.control_covariate for look in looks]),
        arm([look.treatment for look in looks], [look.treatment_covariate for look in looks]),
    )


def look_arrays(looks: Sequence[Look]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(control conversions, control exposures, treatment conversions, treatment exposures) per look."""
    return (
        np.array([look.control.conversions for look in looks], dtype=float),
        np.array([look.control.exposures for look in looks], dtype=float),
        np.array([look.treatment.conversions for look in looks], dtype=float),
        np.array([look.treatment.exposures for look in looks], dtype=float),
    )

"""Cumulative looks at an experiment, one per day, from the collector's daily counts.

The sequential test's p-value is a running minimum and its confidence sequence a running
intersection *over looks*; the report draws the same looks as a time series. A look is what an
observer could have seen at the end of that day: everything up to and including it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from leadscore.api.summary import DailyArmCount
from leadscore.errors import InvalidInputError
from leadscore.experiments.proportions import ArmCounts

ARMS = ("control", "treatment")


@dataclass(frozen=True)
class Look:
    """Both arms' cumulative counts at the end of ``day`` (``None`` for the current snapshot)."""

    day: date | None
    control: ArmCounts
    treatment: ArmCounts

    @property
    def both_exposed(self) -> bool:
        return self.control.exposures > 0 and self.treatment.exposures > 0


def daily_looks(daily: Sequence[DailyArmCount]) -> list[Look]:
    """Cumulative counts per arm at the end of each day present in ``daily``, oldest first."""
    unknown = sorted({row.arm for row in daily} - set(ARMS))
    if unknown:
        raise InvalidInputError(f"daily.arm: expected 'control' or 'treatment', got {', '.join(map(repr, unknown))}")
    by_day: dict[date, list[DailyArmCount]] = defaultdict(list)
    for row in daily:
        by_day[row.day].append(row)
    totals = {arm: [0, 0] for arm in ARMS}
    looks: list[Look] = []
    for day in sorted(by_day):
        for row in by_day[day]:
            totals[row.arm][0] += row.exposures
            totals[row.arm][1] += row.conversions
        counts = {arm: ArmCounts(f"daily[{day}].{arm}", *totals[arm]) for arm in ARMS}
        looks.append(Look(day, counts["control"], counts["treatment"]))
    return looks


def look_arrays(looks: Sequence[Look]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(control conversions, control exposures, treatment conversions, treatment exposures) per look."""
    return (
        np.array([look.control.conversions for look in looks], dtype=float),
        np.array([look.control.exposures for look in looks], dtype=float),
        np.array([look.treatment.conversions for look in looks], dtype=float),
        np.array([look.treatment.exposures for look in looks], dtype=float),
    )

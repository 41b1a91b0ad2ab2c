"""Live accuracy and business KPIs of one version from its matured leads: pure numpy.

Inputs are one row per lead (its first score in the window): the probability, the tier it
was given, whether it converted within the maturity delay, the value of those conversions and
the days to the first one. Intervals: a seeded bootstrap over leads for ROC-AUC, Brier and the
top tier's lift (one resampling, ``BOOTSTRAP`` draws); Wilson for conversion rates; a normal
interval for revenue per lead. They are there so that a dip on 80 outcomes is read as the
noise it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from leadscore.api.health import CalibrationBin, Interval, TierConversion, TimeToConversion

BOOTSTRAP = 300
SEED = 20261204
Z = 1.959963984540054
TIER_ORDER = ("high", "medium", "low", "very_low")


@dataclass(frozen=True)
class MaturedLeads:
    """One row per matured lead."""

    probability: np.ndarray
    converted: np.ndarray  # bool
    tier: np.ndarray  # object (str)
    value: np.ndarray  # float, 0 when no converted value
    days_to_conversion: np.ndarray  # float, NaN when not converted


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mann-Whitney ROC-AUC (ties count one half); NaN when one class is absent."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = stats.rankdata(p)
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def wilson(successes: int, n: int) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    rate = successes / n
    centre = (rate + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * np.sqrt(rate * (1 - rate) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def _interval(value: float, draws: np.ndarray) -> Interval | None:
    draws = draws[np.isfinite(draws)]
    if not np.isfinite(value) or len(draws) == 0:
        return None
    low, high = np.quantile(draws, [0.025, 0.975])
    return Interval(value=value, lower=float(low), upper=float(high))


def _lift(y: np.ndarray, top: np.ndarray) -> float:
    overall = y.mean() if len(y) else 0.0
    if overall == 0 or not top.any():
        return float("nan")
    return float(y[top].mean() / overall)


def bootstrap(leads: MaturedLeads, top_tier: str, draws: int = BOOTSTRAP,
              seed: int = SEED) -> tuple[Interval | None, Interval | None, Interval | None]:
    """ROC-AUC, Brier and top-tier lift with their bootstrap intervals (one resampling for all)."""
    y, p = leads.converted.astype(bool), leads.probability
    top = leads.tier == top_tier
    n = len(y)
    if n == 0:
        return None, None, None
    rng = np.random.default_rng(seed)
    aucs, briers, lifts = np.empty(draws), np.empty(draws), np.empty(draws)
    for i in range(draws):
        rows = rng.integers(0, n, n)
        aucs[i] = roc_auc(y[rows], p[rows])
        briers[i] = float(np.mean((p[rows] - y[rows]) ** 2))
        lifts[i] = _lift(y[rows], top[rows])
    return (_interval(roc_auc(y, p), aucs), _interval(float(np.mean((p - y) ** 2)), briers),
            _interval(_lift(y, top), lifts))


def calibration(leads: MaturedLeads) -> list[CalibrationBin]:
    """Deciles of the predicted probability (by rank, so every decile holds a tenth of the leads)."""
    n = len(leads.probability)
    if n == 0:
        return []
    order = np.argsort(leads.probability, kind="stable")
    out = []
    for decile, rows in enumerate(np.array_split(order, 10), start=1):
        if len(rows):
            out.append(CalibrationBin(decile=decile, leads=len(rows),
                                      mean_probability=float(leads.probability[rows].mean()),
                                      conversion_rate=float(leads.converted[rows].mean())))
    return out


def tiers(leads: MaturedLeads, order: Sequence[str] = TIER_ORDER) -> list[TierConversion]:
    """Conversion per tier, known tiers in order, then any other label the predictions carried."""
    present = [str(t) for t in dict.fromkeys(leads.tier.tolist())]
    names = [t for t in order if t in present] + sorted(t for t in present if t not in order)
    out = []
    for name in names:
        rows = leads.tier == name
        n, k = int(rows.sum()), int(leads.converted[rows].sum())
        low, high = wilson(k, n)
        out.append(TierConversion(tier=name, leads=n, conversions=k, rate=k / n if n else 0.0, lower=low, upper=high))
    return out


def revenue_per_lead(leads: MaturedLeads) -> Interval | None:
    n = len(leads.value)
    if n == 0:
        return None
    mean = float(leads.value.mean())
    half = Z * float(leads.value.std(ddof=1)) / np.sqrt(n) if n > 1 else float("inf")
    return Interval(value=mean, lower=mean - half, upper=mean + half)


def time_to_conversion(leads: MaturedLeads) -> TimeToConversion | None:
    days = leads.days_to_conversion[np.isfinite(leads.days_to_conversion)]
    if len(days) == 0:
        return None
    p25, median, p75 = np.quantile(days, [0.25, 0.5, 0.75])
    return TimeToConversion(median_days=float(median), p25_days=float(p25), p75_days=float(p75))

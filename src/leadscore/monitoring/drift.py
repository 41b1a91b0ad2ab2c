"""Drift: a sample of leads against the training reference, field by field and for the score.

Two numbers per field, because each alone misleads:

- the **population stability index** (PSI), sum over bins of (a - e) * ln(a / e) with a the
  sample's and e the reference's share, says *how far* the distribution moved. Credit-risk
  practice reads it as: below 0.1 stable, 0.1 to 0.2 worth watching, 0.2 or more drifted.
  Empty bins are floored at ``EPSILON``.
- a **p-value** says whether the move could be chance at this sample size: two-sample
  Kolmogorov-Smirnov for numbers (non-missing values against the reference's quantile
  sketch), a two-sample chi-square test over the bins for levels, flags and text presence.

A field is *drifted* when its PSI is at least ``drift`` **and** its p-value is below
``alpha``: big enough to matter and too big to be chance. On large windows any tiny change
is "significant", so the p-value alone would cry wolf; on small ones PSI is noisy, so the
PSI alone would. Both are computed on the raw values, not on the clipped ones the model sees
(leadscore.monitoring.profile says why); ``out_of_range`` gives the share serving clipped.
Below ``min_rows`` leads there is no report at all
(``InsufficientDataError``). The measured false-alarm and detection rates behind these
defaults are in docs/monitoring.md (``tests/unit/test_drift_validity.py`` re-measures them).
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, Field
from scipy import stats

from leadscore.api.health import DriftReport, FieldDrift
from leadscore.errors import InsufficientDataError
from leadscore.features.spec import Columns
from leadscore.monitoring.profile import FieldProfile, ReferenceProfile

EPSILON = 1e-4
MIN_EXPECTED = 5.0
"""Chi-square bins expecting fewer leads than this are pooled (the test's usual rule)."""


class DriftThresholds(BaseModel):
    """When a field counts as drifted, and how many leads a verdict needs."""

    watch: float = Field(0.1, gt=0, description="PSI from which a field is worth watching.")
    drift: float = Field(0.2, gt=0, description="PSI from which a field has drifted (with p < alpha).")
    alpha: float = Field(0.01, gt=0, lt=1, description="p-value below which a move is not chance.")
    min_rows: int = Field(500, ge=1, description="Fewest leads compared; fewer is refused.")


def psi(actual: np.ndarray, expected: np.ndarray) -> float:
    """Population stability index of two share (or count) vectors over the same bins."""
    a = np.maximum(np.asarray(actual, dtype=np.float64) / max(float(np.sum(actual)), 1e-300), EPSILON)
    e = np.maximum(np.asarray(expected, dtype=np.float64) / max(float(np.sum(expected)), 1e-300), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def chi_square_p(observed: np.ndarray, reference: np.ndarray) -> float:
    """Two-sample chi-square test of bin counts against the reference's counts.

    The reference is itself a sample (the held-out rows), so its counts enter the test as
    one: treating its shares as exact would call its own sampling noise significant on every
    large window. Bins expecting fewer than ``MIN_EXPECTED`` leads on either side are pooled.
    """
    table = np.vstack([np.asarray(observed, dtype=np.float64), np.asarray(reference, dtype=np.float64)])
    totals = table.sum(axis=1)
    if (totals <= 0).any():
        return 1.0
    expected_min = table.sum(axis=0) * totals.min() / totals.sum()
    small = expected_min < MIN_EXPECTED
    columns = [table[:, ~small]]
    if small.any():
        columns.append(table[:, small].sum(axis=1, keepdims=True))
    pooled = np.hstack(columns)
    pooled = pooled[:, pooled.sum(axis=0) > 0]
    if pooled.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(pooled, correction=False).pvalue)


def _p_value(field: FieldProfile, counts: np.ndarray, values: np.ndarray | None, reference_rows: int) -> float:
    if field.kind == "numeric":
        if values is None or len(values) == 0 or not field.sketch:
            return 1.0
        return float(stats.ks_2samp(values, np.asarray(field.sketch), method="asymp").pvalue)
    return chi_square_p(counts, np.asarray(field.shares) * reference_rows)


def compare(profile: ReferenceProfile, columns: Columns, n: int, scores: np.ndarray | None,
            thresholds: DriftThresholds | None = None) -> DriftReport:
    """The drift report of ``n`` leads (raw columns, and the model's probabilities when known)."""
    thresholds = thresholds or DriftThresholds()
    if n < thresholds.min_rows:
        raise InsufficientDataError(
            f"drift needs at least {thresholds.min_rows} leads to judge (got {n}): on fewer, chance alone "
            "moves the index past the thresholds")
    parsed = profile.parse(columns, n)
    fields = []
    for field in profile.fields:
        counts = field.counts(parsed)
        value = psi(counts, np.asarray(field.shares))
        p = _p_value(field, counts, field.values(parsed) if field.kind == "numeric" else None, profile.rows)
        p = 1.0 if math.isnan(p) else min(max(p, 0.0), 1.0)
        beyond = field.beyond_range(parsed)
        fields.append(FieldDrift(name=field.name, psi=round(value, 6), p_value=p,
                                 drifted=value >= thresholds.drift and p < thresholds.alpha,
                                 out_of_range=None if beyond is None else round(beyond, 6)))
    score_psi = 0.0
    if scores is not None and len(scores):
        score_psi = psi(profile.score.counts(np.asarray(scores, dtype=np.float64)), np.asarray(profile.score.shares))
    return DriftReport(fields=fields, score_psi=round(score_psi, 6), drifted=[f.name for f in fields if f.drifted])


def level(value: float, thresholds: DriftThresholds) -> str:
    """"stable", "watch" or "drift" for a PSI, as the thresholds read it."""
    if value >= thresholds.drift:
        return "drift"
    return "watch" if value >= thresholds.watch else "stable"

"""Per-lead interval, confidence and agreement: one implementation for the trainer (which fits
and measures them), the predictor and ``leadscore score`` (which apply them).

**Interval: inductive Venn-ABERS** (Vovk & Petej 2014; Vovk, Petej & Fedorova 2015). The
calibration rows are the validation rows the trainer already calibrates on, scored by the shipped
``model.onnx`` (its ``probability`` output, the same float32 number serving gets). For a new lead
with score ``s`` the isotonic regression of the labels on the scores is fitted twice, on the
calibration rows plus the lead labelled 0 and plus the lead labelled 1; its value at ``s`` is
``p0`` and ``p1`` (``p0 <= p1``). Guarantee (exchangeability of calibration rows and leads, and a
scorer that did not learn from the calibration labels): one of ``p0``/``p1`` is a perfectly
calibrated probability, so the observed conversion rate of any group of leads selected by their
interval lies between the group's mean ``p0`` and mean ``p1`` up to sampling error. The interval
is the *calibration* uncertainty (how well the calibration rows pin down ``P(y=1 | score)``); it
is not a confidence interval for an individual lead's unobservable probability given all of its
features. The width shrinks like ``1 / (calibration rows near that score)``.

The isotonic fit depends only on the order of the scores, so a score equal to one seen in
calibration and a score between two seen ones give different ``p0``/``p1``; both cases are
precomputed at training for every position (prefix and suffix pool-adjacent-violators stacks,
merged at the query point), so serving is a binary search and two lookups.

**Confidence** ``= 1 - (p1 - p0)``: 1 when the calibration data leave no doubt about the
probability at that score, lower where they are thin (extreme scores, few similar leads).

**Agreement** ``= 1 - (max_i q_i - min_i q_i)`` over the ensemble members' own calibrated
probabilities ``q_i = sigmoid(a_i * margin_i + b_i)`` (Platt, fitted per member on the
calibration rows): 1 when every member gives the lead the same probability, 0 when one says 0
and another 1. A single model has nothing to disagree with: ``None``.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import expit

from leadscore.api.artifact import IntervalCoverage, MemberCalibration, Uncertainty

UNCERTAINTY_FIELDS = ("interval_low", "interval_high", "confidence", "agreement")
"""The response fields (V1 keys, V2 output tensors, ``leadscore score`` columns), in this order."""


def _stacks(weights: np.ndarray, sums: np.ndarray, direction: int) -> tuple[list[int], list[float], list[float],
                                                                           list[int]]:
    """Persistent pool-adjacent-violators stacks of every prefix (direction 1) or suffix (-1).

    Returns ``tops`` (the top block of each prefix/suffix, -1 for none) and the block table
    (weight, sum, previous block). A block never changes once made, so every prefix's solution is
    a linked list into one table of at most 2k blocks."""
    bw: list[float] = []
    bs: list[float] = []
    prev: list[int] = []
    k = len(weights)
    tops = [-1]
    top = -1
    order = range(k) if direction == 1 else range(k - 1, -1, -1)
    for j in order:
        cw, cs = float(weights[j]), float(sums[j])
        # prefix: pool while the block to the left has a higher mean; suffix: while the right has a lower one
        while top >= 0 and direction * (bs[top] * cw - cs * bw[top]) > 0:
            cw += bw[top]
            cs += bs[top]
            top = prev[top]
        bw.append(cw)
        bs.append(cs)
        prev.append(top)
        top = len(bw) - 1
        tops.append(top)
    return tops, bw, bs, prev


def _isotonic_at(cw: float, cs: float, left: int, right: int, lt: tuple[list[float], list[float], list[int]],
                 rt: tuple[list[float], list[float], list[int]]) -> float:
    """The isotonic fit at the query block (weight ``cw``, label sum ``cs``) between the solved
    prefix (top ``left``) and suffix (top ``right``): pool violators on either side until none."""
    lw, ls, lp = lt
    rw, rs, rp = rt
    while True:
        if right >= 0 and rs[right] * cw < cs * rw[right]:
            cw += rw[right]
            cs += rs[right]
            right = rp[right]
        elif left >= 0 and ls[left] * cw > cs * lw[left]:
            cw += lw[left]
            cs += ls[left]
            left = lp[left]
        else:
            return cs / cw


def fit_venn_abers(scores: np.ndarray, labels: np.ndarray,
                   members: Sequence[MemberCalibration] = ()) -> Uncertainty:
    """The Venn-ABERS table of calibration ``scores`` (any monotone score) and 0/1 ``labels``."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    distinct, inverse = np.unique(scores, return_inverse=True)
    weights = np.bincount(inverse, minlength=len(distinct)).astype(np.float64)
    sums = np.bincount(inverse, weights=labels, minlength=len(distinct))
    k = len(distinct)
    ptops, lw, ls, lp = _stacks(weights, sums, 1)
    stops_reversed, rw, rs, rp = _stacks(weights, sums, -1)
    stops = stops_reversed[::-1]  # the top of the suffix of groups i..k-1, for i = 0..k (k: empty)
    lt, rt = (lw, ls, lp), (rw, rs, rp)
    between = [[_isotonic_at(1.0, float(y), ptops[i], stops[i], lt, rt) for i in range(k + 1)] for y in (0, 1)]
    at = [[_isotonic_at(weights[j] + 1.0, sums[j] + y, ptops[j], stops[j + 1], lt, rt) for j in range(k)]
          for y in (0, 1)]
    return Uncertainty(scores=distinct.tolist(), p0_between=between[0], p1_between=between[1], p0_at=at[0],
                       p1_at=at[1], calibration_rows=len(scores), members=list(members))


class Table:
    """An ``Uncertainty`` as arrays, ready to apply to batches (a binary search and two lookups per
    lead: positions ``2i`` are "between scores[i-1] and scores[i]", ``2i+1`` "equal to scores[i]")."""

    def __init__(self, uncertainty: Uncertainty) -> None:
        self.scores = np.asarray(uncertainty.scores, dtype=np.float64)
        k = len(self.scores)
        self._p = np.empty((2, 2 * k + 1), dtype=np.float64)
        self._p[0, 0::2], self._p[1, 0::2] = uncertainty.p0_between, uncertainty.p1_between
        self._p[0, 1::2], self._p[1, 1::2] = uncertainty.p0_at, uncertainty.p1_at
        self._sentinel = np.append(self.scores, np.nan)  # scores[k] compares unequal to every score
        self.members = uncertainty.members
        self.a = np.asarray([m.a for m in self.members], dtype=np.float64)
        self.b = np.asarray([m.b for m in self.members], dtype=np.float64)
        # the same table as Python lists: one lead (the common single-lead request) is answered
        # without numpy's per-call overhead, which would cost more than the lookup itself
        self._score_list = self.scores.tolist()
        self._p_list = self._p.tolist()
        self._ab = [(m.a, m.b) for m in self.members]

    def interval(self, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(p0, p1)`` per score."""
        scores = np.asarray(scores, dtype=np.float64)
        index = np.searchsorted(self.scores, scores, side="left")
        position = 2 * index + (self._sentinel[index] == scores)
        return self._p[0, position], self._p[1, position]

    def one(self, score: float, margins: Sequence[float] | None) -> tuple[float, float, float]:
        """``(p0, p1, agreement)`` of one lead, exactly as ``interval`` and ``agreement`` answer it
        (agreement NaN where ``agreement`` answers None)."""
        index = bisect_left(self._score_list, score)
        position = 2 * index + (index < len(self._score_list) and self._score_list[index] == score)
        p0, p1 = self._p_list[0][position], self._p_list[1][position]
        if margins is None or len(self._ab) < 2 or len(margins) != len(self._ab):
            return p0, p1, math.nan
        q = [_expit(a * m + b) for (a, b), m in zip(self._ab, margins, strict=True)]
        return p0, p1, 1.0 - (max(q) - min(q))

    def agreement(self, margins: np.ndarray | None) -> np.ndarray | None:
        """``1 - range`` of the members' calibrated probabilities per lead; None for one member."""
        if margins is None or len(self.members) < 2 or margins.shape[1] != len(self.members):
            return None
        q = expit(margins * self.a + self.b)
        return 1.0 - np.ptp(q, axis=1)


def _expit(x: float) -> float:
    """``scipy.special.expit`` of one number (no overflow for large negative ``x``)."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def confidence(p0: Any, p1: Any) -> Any:
    """``1 - (p1 - p0)`` for numbers or arrays alike: see the module docstring."""
    return 1.0 - (p1 - p0)


def per_lead(table: Table | None, probability: np.ndarray, margins: np.ndarray | None) -> np.ndarray:
    """The ``UNCERTAINTY_FIELDS`` of each lead as columns of a float64 [N, 4] array, NaN where the
    version has none (no table: trained before intervals; one member: no agreement)."""
    out = np.full((len(probability), len(UNCERTAINTY_FIELDS)), np.nan)
    if table is not None and len(probability) == 1:
        p0, p1, agrees = table.one(float(probability[0]), None if margins is None else margins[0].tolist())
        out[0] = (p0, p1, confidence(p0, p1), agrees)
    elif table is not None:
        out[:, 0], out[:, 1] = table.interval(probability)
        out[:, 2] = confidence(out[:, 0], out[:, 1])
        agreement = table.agreement(margins)
        if agreement is not None:
            out[:, 3] = agreement
    return out


def coverage(p0: np.ndarray, p1: np.ndarray, labels: np.ndarray, agreement: np.ndarray | None = None,
             bins: int = 10) -> IntervalCoverage:
    """Calibration within the interval on labelled held-out rows: per decile of ``p0``, is the
    observed rate inside ``[mean p0, mean p1]`` up to two binomial standard errors?"""
    p0, p1, labels = (np.asarray(v, dtype=np.float64) for v in (p0, p1, labels))
    order = np.argsort(p0, kind="stable")
    within, used = 0, 0
    for part in np.array_split(order, bins):
        if not len(part):
            continue
        used += 1
        rate, low, high = labels[part].mean(), p0[part].mean(), p1[part].mean()
        se = np.sqrt(max(low * (1 - low), high * (1 - high), 1e-12) / len(part))
        within += int(low - 2 * se <= rate <= high + 2 * se)
    width = p1 - p0
    return IntervalCoverage(
        rows=len(labels), mean_width=round(float(width.mean()), 6),
        mean_confidence=round(float(1 - width.mean()), 6), observed_rate=round(float(labels.mean()), 6),
        mean_p0=round(float(p0.mean()), 6), mean_p1=round(float(p1.mean()), 6), bins_within=within, bins=used,
        mean_agreement=None if agreement is None else round(float(np.mean(agreement)), 6))

"""Probability -> score (0-100) -> tier -> action: one mapping for the trainer's model card,
the predictor's responses and ``leadscore score`` (docs/architecture.md).

The tiers are a ``ScoringSpec`` (the CR's ``spec.scoring``). Tiers set by score (``minScore``)
are cut-offs already; tiers set by share of leads (``topPercent``) are resolved into cut-offs
on a version's held-out score distribution, which the trainer records in ``model_card.json``
(``score_histogram``) with the cut-offs it resolved (``tiers``). Serving resolves a spec the
same way against the same histogram, so an endpoint and the card agree, and each version of an
experiment cuts its own distribution. Vectorised, because the predictor maps whole batches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pydantic

from leadscore.api.leadscoringmodel import ScoringSpec, TierCutoff
from leadscore.errors import ConfigError, dotted, one_line

TIERS = ("high", "medium", "low", "very_low")
SCORE_BINS = 101
"""Scores are the integers 0-100: a held-out histogram has one count per score."""


def to_scores(probabilities: np.ndarray) -> np.ndarray:
    """Integer scores 0-100: the probability in percent, rounded half to even."""
    return np.clip(np.rint(np.asarray(probabilities, dtype=np.float64) * 100.0), 0, 100).astype(np.int64)


def score_histogram(probabilities: np.ndarray) -> list[int]:
    """How many held-out leads got each score 0-100: what share-based tiers are resolved on."""
    return np.bincount(to_scores(probabilities), minlength=SCORE_BINS).astype(int).tolist()


def _share_cutoff(tail: np.ndarray, share: float) -> int:
    """The score cut-off (1-100) whose share of leads at or above it is closest to ``share``
    (ties: the smaller share). The cut-off is the lowest score held-out leads in the tier had, or
    one above the highest score when the tier comes out empty. Scores are integers, so the share
    is met only as closely as the distribution's steps allow; the card records the share it got."""
    candidates = tail[1:SCORE_BINS]  # cut-off 0 would take every lead
    distance = np.abs(candidates - share)
    best = candidates[distance == distance.min()].min()
    same = np.flatnonzero(candidates == best)
    return int(1 + (same[-1] if best > 0 else same[0]))


def cutoffs(spec: ScoringSpec, histogram: Sequence[int] | None) -> np.ndarray:
    """The minimum scores of low, medium and high (non-decreasing; equal ones leave a tier empty).

    Tiers set by share need the version's held-out ``histogram``; a card without one (trained
    before shares existed) can only be served with tiers set by ``minScore``."""
    tiers = (spec.low, spec.medium, spec.high)
    if not spec.by_share:
        return np.array([t.min_score for t in tiers], dtype=np.int64)
    counts = np.asarray(histogram or [], dtype=np.float64)
    if counts.size != SCORE_BINS or counts.sum() <= 0:
        raise ConfigError("scoring: tiers set by topPercent need the version's held-out score distribution "
                          "(model_card.json score_histogram), which this version lacks: retrain it or set "
                          "minScore on every tier")
    tail = np.cumsum(counts[::-1])[::-1] / counts.sum()  # tail[s]: share of leads scoring s or more
    return np.array([_share_cutoff(tail, p / 100.0) for p in spec.top_percents()[::-1]], dtype=np.int64)


def tier_index(scores: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Index into ``TIERS`` per score: 0 high (>= the high cut-off) ... 3 very_low (below low's).

    ``bounds`` holds the low, medium and high cut-offs, one row for all scores or one per score."""
    scores = np.asarray(scores)
    return 3 - (scores[:, None] >= np.asarray(bounds)).sum(axis=-1)


def demote_unconfident(tiers: np.ndarray, confidence: np.ndarray, spec: ScoringSpec) -> np.ndarray:
    """Tier indices after each tier's ``minConfidence``: a lead below it moves one tier down, and on
    down while the next tier's rule fails too. A NaN confidence (none known) never demotes."""
    rules = (spec.high.min_confidence, spec.medium.min_confidence, spec.low.min_confidence)
    if all(rule is None for rule in rules):
        return tiers
    tiers = np.array(tiers, copy=True)
    confidence = np.asarray(confidence, dtype=np.float64)
    for index, rule in enumerate(rules):
        if rule is not None:
            tiers[(tiers == index) & (confidence < rule)] = index + 1
    return tiers


def resolved_tiers(spec: ScoringSpec, histogram: Sequence[int]) -> list[TierCutoff]:
    """The cut-off of each tier and the share of the held-out leads it got: what the card and the
    CR status record per version."""
    bounds = cutoffs(spec, histogram)
    counts = np.asarray(histogram, dtype=np.float64)
    per_tier = np.bincount(tier_index(np.arange(SCORE_BINS), bounds), weights=counts, minlength=len(TIERS))
    percent = 100.0 * per_tier / max(counts.sum(), 1.0)
    asked = (*(round(p, 4) for p in spec.top_percents()), None) if spec.by_share else (None,) * len(TIERS)
    mins = (*bounds[::-1].tolist(), 0)
    return [TierCutoff(tier=name, min_score=int(low), top_percent=share, held_out_percent=round(float(p), 2))
            for name, low, share, p in zip(TIERS, mins, asked, percent, strict=True)]


def actions(spec: ScoringSpec) -> tuple[str, str, str, str]:
    """The action of each tier, in ``TIERS`` order."""
    return spec.high.action, spec.medium.action, spec.low.action, spec.very_low_action


DEFAULT_SLAS = ("30m", "4h", "24h", None)
DEFAULT_PRIORITIES = ("P0", "P1", "P2", "P3")
"""Seed 000's table, in ``TIERS`` order: what a tier that sets no ``sla`` / ``priority`` gets (so
CRs written before these fields existed answer with them too)."""


def slas(spec: ScoringSpec) -> tuple[str | None, ...]:
    """The contact deadline of each tier (a duration such as ``30m``; None: none), in ``TIERS`` order."""
    tiers = (spec.high, spec.medium, spec.low)
    return (*(t.sla or d for t, d in zip(tiers, DEFAULT_SLAS[:3], strict=True)), spec.very_low_sla)


def priorities(spec: ScoringSpec) -> tuple[str, ...]:
    """The work-queue priority of each tier (``P0`` first), in ``TIERS`` order."""
    tiers = (spec.high, spec.medium, spec.low)
    return (*(t.priority or d for t, d in zip(tiers, DEFAULT_PRIORITIES[:3], strict=True)), spec.very_low_priority)


def spec_from_json(text: str, where: str) -> ScoringSpec:
    """A ``ScoringSpec`` given as JSON (``ScoringSpec.to_json``) on a command line; errors name ``where``."""
    try:
        return ScoringSpec.model_validate_json(text)
    except pydantic.ValidationError as exc:
        raise ConfigError(one_line(exc, lambda loc: f"{where}: {dotted(loc)}" if loc else where)) from None

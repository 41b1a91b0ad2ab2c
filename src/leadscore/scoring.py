"""Probability -> score (0-100) -> tier -> action: one mapping for the trainer's model card,
the predictor's responses and the demo's reports (DESIGN.md section 4).

The thresholds are a ``ScoringSpec`` (the CR's ``spec.scoring``): the trainer records the
one it trained with in ``model_card.json`` under ``scoring``; the predictor may override it.
Vectorised, because the predictor maps whole batches per request.
"""

from __future__ import annotations

import numpy as np
import pydantic

from leadscore.api.leadscoringmodel import ScoringSpec
from leadscore.errors import ConfigError, dotted, one_line

TIERS = ("high", "medium", "low", "very_low")


def to_scores(probabilities: np.ndarray) -> np.ndarray:
    """Integer scores 0-100: the probability in percent, rounded half to even."""
    return np.clip(np.rint(np.asarray(probabilities, dtype=np.float64) * 100.0), 0, 100).astype(np.int64)


def tier_index(scores: np.ndarray, spec: ScoringSpec) -> np.ndarray:
    """Index into ``TIERS`` per score: 0 high (>= high.min_score) ... 3 very_low (< low.min_score)."""
    bounds = np.array([spec.low.min_score, spec.medium.min_score, spec.high.min_score])
    return 3 - np.searchsorted(bounds, scores, side="right")


def actions(spec: ScoringSpec) -> tuple[str, str, str, str]:
    """The action of each tier, in ``TIERS`` order."""
    return spec.high.action, spec.medium.action, spec.low.action, spec.very_low_action


def spec_from_json(text: str, where: str) -> ScoringSpec:
    """A ``ScoringSpec`` given as JSON (``ScoringSpec.to_json``) on a command line; errors name ``where``."""
    try:
        return ScoringSpec.model_validate_json(text)
    except pydantic.ValidationError as exc:
        raise ConfigError(one_line(exc, lambda loc: f"{where}: {dotted(loc)}" if loc else where)) from None

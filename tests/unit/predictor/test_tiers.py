"""Probability -> score -> tier -> action, with default and overridden thresholds."""

from __future__ import annotations

import numpy as np
import pytest

from leadscore.api.artifact import ServingCard
from leadscore.api.leadscoringmodel import ScoringSpec, Tier
from leadscore.scoring import TIERS, actions, tier_index, to_scores


@pytest.mark.parametrize(
    ("probability", "score", "tier"),
    [
        (0.0, 0, "very_low"),
        (0.394, 39, "very_low"),
        (0.40, 40, "low"),
        (0.5949, 59, "low"),
        (0.60, 60, "medium"),
        (0.794, 79, "medium"),
        (0.80, 80, "high"),
        (1.0, 100, "high"),
    ],
)
def test_tier_index_follows_design_bands_when_thresholds_are_default(probability: float, score: int, tier: str) -> None:
    scores = to_scores(np.array([probability]))
    assert scores.tolist() == [score]
    assert TIERS[tier_index(scores, ScoringSpec())[0]] == tier


def test_tier_index_uses_card_thresholds_when_the_card_records_them() -> None:
    card = {
        "scoring": {
            "high": {"minScore": 90, "action": "call_now"},
            "medium": {"minScore": 50, "action": "queue"},
            "low": {"minScore": 20, "action": "email"},
            "veryLowAction": "drop",
        }
    }
    spec = ServingCard.model_validate(card).scoring
    tiers = [TIERS[i] for i in tier_index(np.array([95, 85, 50, 49, 19]), spec)]
    assert tiers == ["high", "medium", "medium", "low", "very_low"]
    assert actions(spec) == ("call_now", "queue", "email", "drop")


def test_actions_name_design_defaults_when_card_has_no_scoring() -> None:
    assert actions(ServingCard.model_validate({}).scoring) == (
        "immediate_assignment", "standard_routing", "nurture", "archive")


def test_to_scores_clips_to_zero_and_hundred_when_probability_is_out_of_range() -> None:
    assert to_scores(np.array([-0.2, 1.3])).tolist() == [0, 100]


def test_tier_index_puts_threshold_itself_in_the_upper_tier_when_overridden() -> None:
    spec = ScoringSpec(
        high=Tier(min_score=70, action="a"), medium=Tier(min_score=50, action="b"), low=Tier(min_score=30, action="c")
    )
    assert [TIERS[i] for i in tier_index(np.array([70, 69, 50, 30, 29]), spec)] == [
        "high",
        "medium",
        "medium",
        "low",
        "very_low",
    ]

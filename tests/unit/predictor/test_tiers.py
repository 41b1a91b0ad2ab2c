"""Probability -> score -> tier -> action, with tiers by score and by share of leads."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from leadscore.api.artifact import ServingCard
from leadscore.api.leadscoringmodel import ScoringSpec, Tier
from leadscore.errors import ConfigError
from leadscore.scoring import (
    TIERS,
    actions,
    cutoffs,
    demote_unconfident,
    priorities,
    resolved_tiers,
    score_histogram,
    slas,
    tier_index,
    to_scores,
)

BY_SCORE = ScoringSpec(high=Tier(min_score=80, action="a"), medium=Tier(min_score=60, action="b"),
                       low=Tier(min_score=40, action="c"))
UNIFORM = [10] * 100 + [0]
"""1,000 held-out leads, ten on each score 0-99."""


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
def test_tier_index_follows_score_bands_when_tiers_set_min_score(probability: float, score: int, tier: str) -> None:
    scores = to_scores(np.array([probability]))
    assert scores.tolist() == [score]
    assert TIERS[tier_index(scores, cutoffs(BY_SCORE, None))[0]] == tier


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
    tiers = [TIERS[i] for i in tier_index(np.array([95, 85, 50, 49, 19]), cutoffs(spec, None))]
    assert tiers == ["high", "medium", "medium", "low", "very_low"]
    assert actions(spec) == ("call_now", "queue", "email", "drop")


def test_default_tiers_are_shares_of_leads_with_design_actions() -> None:
    spec = ServingCard.model_validate({}).scoring
    assert spec.by_share and [t.top_percent for t in (spec.high, spec.medium, spec.low)] == [5, 20, 50]
    assert actions(spec) == ("immediate_assignment", "standard_routing", "nurture", "archive")


def test_to_scores_clips_to_zero_and_hundred_when_probability_is_out_of_range() -> None:
    assert to_scores(np.array([-0.2, 1.3])).tolist() == [0, 100]


def test_score_histogram_counts_each_integer_score() -> None:
    histogram = score_histogram(np.array([0.0, 0.004, 0.126, 0.13, 1.0]))
    assert len(histogram) == 101 and sum(histogram) == 5
    assert (histogram[0], histogram[13], histogram[100]) == (2, 2, 1)


def test_share_tiers_resolve_to_the_scores_that_cut_those_shares_of_held_out_leads() -> None:
    assert cutoffs(ScoringSpec(), UNIFORM).tolist() == [50, 80, 95]  # low, medium, high
    tiers = resolved_tiers(ScoringSpec(), UNIFORM)
    assert [(t.tier, t.min_score, t.top_percent, t.held_out_percent) for t in tiers] == [
        ("high", 95, 5, 5.0), ("medium", 80, 20, 15.0), ("low", 50, 50, 30.0), ("very_low", 0, None, 50.0)]


def test_share_cutoff_takes_the_closest_share_when_scores_tie_in_steps() -> None:
    """A low base rate piles leads on few scores: the cut-off gives the share nearest the one asked."""
    histogram = [0] * 101
    histogram[5], histogram[12], histogram[30], histogram[60] = 600, 300, 80, 20  # 1,000 leads
    bounds = cutoffs(ScoringSpec(), histogram)
    assert bounds.tolist() == [12, 30, 60]  # top 40 % (asked 50), top 10 % (asked 20), top 2 % (asked 5)
    assert [t.held_out_percent for t in resolved_tiers(ScoringSpec(), histogram)] == [2.0, 8.0, 30.0, 60.0]


def test_equal_cutoffs_leave_a_tier_empty_when_one_score_holds_both_shares() -> None:
    histogram = [0] * 101
    histogram[10], histogram[50] = 900, 100
    # top 5 %: 10 % (score 50 up) and 0 % (51 up) are equally far; the smaller share wins
    assert cutoffs(ScoringSpec(), histogram).tolist() == [50, 50, 51]
    assert [t.held_out_percent for t in resolved_tiers(ScoringSpec(), histogram)] == [0.0, 10.0, 0.0, 90.0]


def test_share_tiers_are_refused_when_the_card_has_no_held_out_distribution() -> None:
    with pytest.raises(ConfigError, match="topPercent need the version's held-out score distribution"):
        cutoffs(ScoringSpec(), [])
    assert cutoffs(BY_SCORE, []).tolist() == [40, 60, 80]  # cut-offs by score need none


def test_tier_index_applies_each_leads_own_cutoffs_when_given_one_row_per_lead() -> None:
    bounds = np.array([[10, 20, 30], [40, 60, 80]])[[0, 1, 1]]
    assert [TIERS[i] for i in tier_index(np.array([30, 30, 79]), bounds)] == ["high", "very_low", "medium"]


def test_tier_index_puts_threshold_itself_in_the_upper_tier_when_overridden() -> None:
    spec = ScoringSpec(
        high=Tier(min_score=70, action="a"), medium=Tier(min_score=50, action="b"), low=Tier(min_score=30, action="c")
    )
    assert [TIERS[i] for i in tier_index(np.array([70, 69, 50, 30, 29]), cutoffs(spec, None))] == [
        "high",
        "medium",
        "medium",
        "low",
        "very_low",
    ]


@pytest.mark.parametrize(("scoring", "message"), [
    ({"high": {"minScore": 80, "topPercent": 5, "action": "a"}}, "high: Value error, set exactly one of minScore"),
    ({"high": {"action": "a"}}, "high: Value error, set exactly one of minScore"),
    ({"high": {"minScore": 80, "action": "a"}}, "tiers must all set minScore, all topPercent or all leadsPerDay"),
    ({"medium": {"topPercent": 3, "action": "a"}}, "tier shares must grow"),
    ({"high": {"topPercent": 120, "action": "a"}}, "high.topPercent"),
    ({"high": {"topPercent": 0, "action": "a"}}, "high.topPercent"),
    ({"high": {"topPercent": 5, "action": "a", "sla": "half an hour"}}, "high.sla"),
    ({"low": {"topPercent": 50, "action": "a", "priority": "P10"}}, "low.priority"),
    ({"veryLowSla": "1w"}, "veryLowSla"),
    ({"high": {"minScore": 80, "leadsPerDay": 5, "action": "a"}}, "high: Value error, set exactly one of minScore"),
    ({"high": {"leadsPerDay": 40, "action": "a"}, "medium": {"leadsPerDay": 100, "action": "b"},
      "low": {"leadsPerDay": 300, "action": "c"}}, "tiers set by leadsPerDay need expectedDailyLeads"),
    ({"high": {"leadsPerDay": 40, "action": "a"}, "medium": {"leadsPerDay": 100, "action": "b"},
      "low": {"leadsPerDay": 300, "action": "c"}, "expectedDailyLeads": 400}, "add up to more than expectedDailyLeads"),
    ({"high": {"minScore": 50, "action": "a"}, "medium": {"minScore": 60, "action": "b"},
      "low": {"minScore": 40, "action": "c"}}, "tier thresholds must decrease"),
])
def test_bad_scoring_is_refused_naming_the_field(scoring: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ScoringSpec.model_validate(scoring)
    text = str(caught.value).replace("\n  ", ": ").replace("\n", " ")
    assert message in text, text


def test_tiers_carry_seed_sla_and_priority_when_the_spec_sets_none() -> None:
    assert slas(ScoringSpec()) == slas(BY_SCORE) == ("30m", "4h", "24h", None)
    assert priorities(ScoringSpec()) == priorities(BY_SCORE) == ("P0", "P1", "P2", "P3")


def test_tiers_carry_the_sla_and_priority_the_spec_sets() -> None:
    spec = ScoringSpec.model_validate({
        "high": {"topPercent": 2, "action": "call", "sla": "15m", "priority": "P1"},
        "medium": {"topPercent": 10, "action": "queue", "sla": "1h"},
        "low": {"topPercent": 40, "action": "email", "priority": "P5"},
        "veryLowSla": "7d", "veryLowPriority": "P9"})
    assert slas(spec) == ("15m", "1h", "24h", "7d")
    assert priorities(spec) == ("P1", "P1", "P5", "P9")


def test_capacity_tiers_cut_the_share_of_a_days_leads_the_team_can_contact() -> None:
    """high = the 40 best leads of 800 a day (5 %), medium the next 120 (top 20 %), low the next 240 (top 50 %):
    the same cut-offs as those shares."""
    spec = ScoringSpec.model_validate({
        "high": {"leadsPerDay": 40, "action": "a"}, "medium": {"leadsPerDay": 120, "action": "b"},
        "low": {"leadsPerDay": 240, "action": "c"}, "expectedDailyLeads": 800})
    assert spec.by_share and spec.top_percents() == (5.0, 20.0, 50.0)
    assert cutoffs(spec, UNIFORM).tolist() == cutoffs(ScoringSpec(), UNIFORM).tolist() == [50, 80, 95]
    assert [t.top_percent for t in resolved_tiers(spec, UNIFORM)] == [5.0, 20.0, 50.0, None]
    assert [t.top_percent for t in resolved_tiers(BY_SCORE, UNIFORM)] == [None] * 4


def test_a_lead_below_a_tiers_minimum_confidence_gets_the_next_tier_down() -> None:
    """Seed 002: high needs confidence >= 0.8; medium's own rule (0.5) can demote further; an unknown
    confidence (NaN: an old version, the rules) never demotes."""
    spec = ScoringSpec(high=Tier(min_score=70, action="call", min_confidence=0.8),
                       medium=Tier(min_score=40, action="queue", min_confidence=0.5),
                       low=Tier(min_score=10, action="email"))
    tiers = tier_index(np.array([90, 90, 90, 90, 50, 50, 20]), cutoffs(spec, None))
    confidence = np.array([0.95, 0.8, 0.7, 0.3, 0.4, np.nan, 0.0])
    demoted = demote_unconfident(tiers, confidence, spec)
    assert [TIERS[i] for i in demoted] == ["high", "high", "medium", "low", "low", "medium", "low"]
    assert [TIERS[i] for i in demote_unconfident(tiers, confidence, BY_SCORE)] == [TIERS[i] for i in tiers]


def test_minimum_confidence_outside_zero_to_one_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="min_confidence"):
        Tier(min_score=70, action="call", min_confidence=1.2)

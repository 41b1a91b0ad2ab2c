"""The rule-based baseline's points table."""

from __future__ import annotations

import pytest

from leadscore.predictor.rules import RULES, rule_points, rule_scores

HOT = {
    "lead_id": "a",
    "requested_quote": True,
    "form_completed": "yes",
    "email": "x@y.z",
    "phone": "555",
    "full_name": "Ann Lee",
    "address": "1 Main St",
    "zipcode": "02139",
    "pages_visited": 12,
    "time_on_site": 900,
    "return_visitor": 1,
    "source_engagement_level": 3,
    "created_at": "2024-03-05T10:30:00",
}  # a Tuesday, 10:30 UTC


def test_rule_scores_give_hundred_when_every_rule_is_met() -> None:
    assert rule_scores([HOT]).tolist() == [100.0]


def test_rule_scores_give_zero_when_lead_carries_nothing() -> None:
    assert rule_scores([{"lead_id": "b"}]).tolist() == [0.0]


@pytest.mark.parametrize(
    ("field", "value", "lost"),
    [
        ("requested_quote", False, 25.0),
        ("form_completed", "no", 15.0),
        ("email", None, 4.0),
        ("pages_visited", 2, 6.0),
        ("time_on_site", 150, 5.0),
        ("return_visitor", 0, 10.0),
        ("source_engagement_level", 0, 5.0),
        ("created_at", "2024-03-09T10:30:00", 5.0),  # a Saturday
        ("created_at", "2024-03-05T18:00:00", 5.0),
    ],
)
def test_rule_scores_drop_by_rule_points_when_one_field_changes(field: str, value: object, lost: float) -> None:
    lead = {**HOT, field: value}
    assert rule_scores([lead])[0] == pytest.approx(100.0 - lost)


def test_rule_points_prefer_has_flags_when_both_flag_and_raw_value_are_given() -> None:
    lead = {"has_email": False, "email": "x@y.z", "has_phone": True}
    points, _ = rule_points([lead])
    contact = [r.factor for r in RULES].index("contact_completeness")
    assert points[0, contact] == pytest.approx(20.0 * 1 / 5)


def test_rule_points_sum_to_the_score_when_explained() -> None:
    leads = [HOT, {**HOT, "requested_quote": False, "pages_visited": 1}, {"lead_id": "c", "phone": "1"}]
    points, values = rule_points(leads)
    assert points.sum(axis=1).tolist() == rule_scores(leads).tolist()
    assert [name for name, _ in values[0]] == [r.factor for r in RULES]

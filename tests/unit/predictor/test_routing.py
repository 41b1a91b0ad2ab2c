"""Sticky A/B assignment: same lead, same arm; the split matches the configured share."""

from __future__ import annotations

import pytest

from leadscore.predictor.routing import CONTROL, TREATMENT, assign_arm, bucket


def test_assign_arm_returns_same_arm_when_called_again_for_the_same_lead() -> None:
    first = [assign_arm(f"lead-{i}", "exp-salt", 50.0) for i in range(1000)]
    again = [assign_arm(f"lead-{i}", "exp-salt", 50.0) for i in range(1000)]
    assert first == again


@pytest.mark.parametrize("percent", [1.0, 10.0, 33.3, 50.0, 90.0])
def test_assign_arm_matches_split_within_one_point_over_100k_ids(percent: float) -> None:
    n = 100_000
    treated = sum(assign_arm(f"crm-{i:07d}", "pc-model-v3-vs-v4", percent) == TREATMENT for i in range(n))
    assert abs(100.0 * treated / n - percent) < 1.0


def test_assign_arm_sends_everyone_to_control_when_percent_is_zero() -> None:
    assert {assign_arm(str(i), "s", 0.0) for i in range(2000)} == {CONTROL}


def test_assign_arm_sends_everyone_to_treatment_when_percent_is_hundred() -> None:
    assert {assign_arm(str(i), "s", 100.0) for i in range(2000)} == {TREATMENT}


def test_bucket_is_independent_across_salts_when_experiments_differ() -> None:
    ids = [f"lead-{i}" for i in range(20_000)]
    a = [bucket(i, "experiment-a") < 0.5 for i in ids]
    b = [bucket(i, "experiment-b") < 0.5 for i in ids]
    agreement = sum(x == y for x, y in zip(a, b, strict=True)) / len(ids)
    assert 0.48 < agreement < 0.52  # independent halves agree about half the time


def test_assign_arm_keeps_treated_leads_treated_when_share_grows() -> None:
    ids = [f"lead-{i}" for i in range(5000)]
    small = {i for i in ids if assign_arm(i, "ramp", 10.0) == TREATMENT}
    large = {i for i in ids if assign_arm(i, "ramp", 30.0) == TREATMENT}
    assert small and small <= large

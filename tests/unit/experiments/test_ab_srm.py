"""Sample-ratio mismatch is a chi-square goodness-of-fit against the configured split."""

from __future__ import annotations

import pytest
from scipy import stats

from leadscore.errors import InvalidInputError
from leadscore.experiments.srm import srm_p_value


def test_srm_matches_scipy_chisquare_when_split_is_uneven() -> None:
    expected = stats.chisquare([820, 180], [800, 200]).pvalue
    assert srm_p_value([820, 180], [80, 20]) == pytest.approx(expected, abs=1e-12)


def test_srm_flags_a_broken_fifty_fifty_split() -> None:
    assert srm_p_value([5300, 4700], [0.5, 0.5]) < 1e-6


def test_srm_accepts_a_healthy_split() -> None:
    assert srm_p_value([5020, 4980], [0.5, 0.5]) > 0.5


def test_srm_is_one_when_nothing_was_exposed() -> None:
    assert srm_p_value([0, 0], [0.5, 0.5]) == 1.0


@pytest.mark.parametrize(
    ("exposures", "shares", "message"),
    [
        ([10, -1], [1, 1], "exposures: must not be negative"),
        ([10, 10], [1, 0], "expected_shares: every arm needs a positive share"),
        ([10, 10, 10], [1, 1], "exposures/expected_shares: need one share per arm"),
    ],
)
def test_srm_refuses_bad_input(exposures: list[int], shares: list[float], message: str) -> None:
    with pytest.raises(InvalidInputError, match=f"^{message}"):
        srm_p_value(exposures, shares)

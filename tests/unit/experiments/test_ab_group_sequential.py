"""Alpha-spending boundaries: exact crossing probabilities, checked against scipy's multivariate normal."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from leadscore.errors import InvalidInputError
from leadscore.experiments.group_sequential import alpha_spent, boundaries, crossed, repeated_p_value


def _inside_probability(bounds: np.ndarray, fractions: np.ndarray) -> float:
    """P(|Z_k| < b_k for every k) for the canonical joint distribution: corr(Z_i, Z_j) = √(t_i/t_j)."""
    t = np.asarray(fractions)
    covariance = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    normal = stats.multivariate_normal(np.zeros(t.size), covariance, seed=0, abseps=1e-8, releps=1e-8)
    total = 0.0
    for signs in np.array(np.meshgrid(*[[-1, 1]] * t.size)).T.reshape(-1, t.size):
        corner = signs * bounds
        total += np.prod(signs) * normal.cdf(corner)
    return float(total)


@pytest.mark.parametrize("spending", ["obrien-fleming", "pocock"])
@pytest.mark.parametrize("fractions", [[0.5, 1.0], [0.3, 0.7, 1.0]])
def test_boundaries_spend_exactly_alpha(spending: str, fractions: list[float]) -> None:
    bounds = boundaries(fractions, 0.05, spending)  # type: ignore[arg-type]
    assert 1 - _inside_probability(bounds, np.array(fractions)) == pytest.approx(0.05, abs=1e-6)


@pytest.mark.parametrize("spending", ["obrien-fleming", "pocock"])
def test_each_look_spends_its_increment(spending: str) -> None:
    fractions = np.array([0.25, 0.5, 0.75])
    bounds = boundaries(fractions, 0.05, spending)  # type: ignore[arg-type]
    for k in range(1, fractions.size + 1):
        spent = 1 - _inside_probability(bounds[:k], fractions[:k])
        assert spent == pytest.approx(float(alpha_spent(fractions[k - 1], 0.05, spending)), abs=1e-6)  # type: ignore[arg-type]


def test_one_look_at_the_end_is_the_fixed_test() -> None:
    assert boundaries([1.0], 0.05, "obrien-fleming")[0] == pytest.approx(stats.norm.isf(0.025), abs=1e-9)


def test_obrien_fleming_is_strict_early_and_pocock_even() -> None:
    fractions = [0.2, 0.4, 0.6, 0.8, 1.0]
    obf = boundaries(fractions, 0.05, "obrien-fleming")
    pocock = boundaries(fractions, 0.05, "pocock")
    assert obf[0] == pytest.approx(stats.norm.isf(0.025) / math.sqrt(0.2), abs=1e-9)
    assert np.all(np.diff(obf) < 0) and obf[-1] < 2.1
    assert pocock.max() - pocock.min() < 0.06 and pocock[-1] > obf[-1]


def test_nothing_spent_means_no_boundary() -> None:
    assert math.isinf(boundaries([0.01, 1.0], 0.05, "obrien-fleming")[0])


def test_repeated_p_value_is_at_most_alpha_exactly_when_a_boundary_is_crossed() -> None:
    fractions = [0.25, 0.5, 0.75, 1.0]
    bounds = boundaries(fractions, 0.05, "pocock")
    for z in ([1.0, 2.0, 2.2, 2.3], [1.0, 3.0, 1.0, 0.5], [0.1, 0.2, 0.3, 2.2]):
        p = repeated_p_value(z, fractions, "pocock")
        assert (p <= 0.05) == bool(crossed(z, bounds).any())


def test_bad_fractions_are_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"^fractions: must be positive and strictly increasing"):
        boundaries([0.5, 0.4], 0.05, "pocock")
    with pytest.raises(InvalidInputError, match=r"^spending: expected one of"):
        alpha_spent(0.5, 0.05, "haybittle")  # type: ignore[arg-type]

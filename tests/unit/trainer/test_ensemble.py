import numpy as np
import pytest
from scipy.special import expit

from leadscore.trainer.ensemble import ENSEMBLE, MIN_WEIGHT, fit_blend, fit_weights, select


def _world(n: int = 3000, seed: int = 0):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    y = (rng.random(n) < expit(1.5 * a + 1.5 * b - 1.5)).astype(int)
    return y, a, b, rng


def test_fit_weights_sum_to_one_and_favour_the_informative_model():
    y, a, b, rng = _world()
    informative = 1.5 * a + 1.5 * b - 1.5
    noise = rng.normal(size=len(y))
    weights = fit_weights(np.column_stack([informative, noise]), y)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[0] > 0.9


def test_fit_blend_drops_members_below_the_minimum_weight():
    y, a, b, rng = _world()
    margins = {"good": 1.5 * a + 1.5 * b - 1.5, "noise": rng.normal(size=len(y))}
    blend = fit_blend(margins, ["good", "noise"], y, "sigmoid")
    assert blend.members == ["good"] or min(blend.weights) >= MIN_WEIGHT


def test_select_ships_the_ensemble_when_members_see_different_signals():
    y, a, b, _ = _world(6000)
    margins = {"sees_a": 1.5 * a - 1.2, "sees_b": 1.5 * b - 1.2}
    blend, selection = select(margins, y, seed=0)
    assert selection.shipped == ENSEMBLE
    assert sorted(blend.members) == ["sees_a", "sees_b"]
    assert "beat" in selection.reason


def test_select_ships_a_single_model_when_the_other_adds_nothing():
    y, a, b, rng = _world(6000)
    full = 1.5 * a + 1.5 * b - 1.5
    margins = {"full": full, "noisy_copy": full + rng.normal(0, 2, len(y))}
    _, selection = select(margins, y, seed=0)
    assert selection.shipped == "full"


def test_select_never_considers_an_ensemble_when_disallowed():
    y, a, b, _ = _world(3000)
    margins = {"sees_a": 1.5 * a - 1.2, "sees_b": 1.5 * b - 1.2}
    _, selection = select(margins, y, seed=0, allow_ensemble=False)
    assert selection.shipped in margins
    assert all(c.candidate != ENSEMBLE for c in selection.candidates)

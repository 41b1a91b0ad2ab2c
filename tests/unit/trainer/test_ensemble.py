import numpy as np
import pytest
from scipy.special import expit

from leadscore.trainer.ensemble import (
    ENSEMBLE,
    MIN_WEIGHT,
    STACKING,
    CandidateScore,
    choose,
    fit_blend,
    fit_stack,
    fit_weights,
    select,
)


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


def test_select_ships_a_combination_when_members_see_different_signals():
    """Blend and stack both recover a + b here (either may edge the other out)."""
    y, a, b, _ = _world(6000)
    margins = {"sees_a": 1.5 * a - 1.2, "sees_b": 1.5 * b - 1.2}
    blend, selection = select(margins, y, seed=0)
    assert selection.shipped in (ENSEMBLE, STACKING)
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
    assert all(c.candidate not in (ENSEMBLE, STACKING) for c in selection.candidates)


def _score(candidate: str, log_loss: float) -> CandidateScore:
    return CandidateScore(candidate=candidate, method="sigmoid", log_loss=log_loss, brier=0.1, roc_auc=0.8)


def test_choose_ships_stacking_when_it_has_the_lowest_validation_log_loss():
    best, reason = choose([_score("lr", 0.40), _score(ENSEMBLE, 0.38), _score(STACKING, 0.37)])
    assert best.candidate == STACKING
    assert reason == ("the stacking's cross-fitted validation log loss 0.37000 beat the best single model "
                      "(lr, 0.40000) and the ensemble (0.38000)")


def test_choose_ships_the_blend_when_it_beats_stacking_and_the_blend_on_a_tie():
    assert choose([_score("lr", 0.40), _score(ENSEMBLE, 0.37), _score(STACKING, 0.38)])[0].candidate == ENSEMBLE
    assert choose([_score("lr", 0.40), _score(ENSEMBLE, 0.37), _score(STACKING, 0.37)])[0].candidate == ENSEMBLE


def test_choose_ships_the_single_model_when_no_combination_beats_it():
    best, reason = choose([_score("lr", 0.36), _score(ENSEMBLE, 0.37), _score(STACKING, 0.38)])
    assert best.candidate == "lr"
    assert "no combination beat it" in reason


def test_select_ships_stacking_when_a_member_must_be_subtracted():
    """The outcome depends on a - b; one member sees a + b, the other b: only a meta-learner with a
    negative weight recovers a, the simplex blend cannot."""
    y, a, b, _ = _world(6000)
    y = (np.random.default_rng(1).random(len(y)) < expit(2.0 * a - 0.5)).astype(int)
    margins = {"sum": a + b, "b_only": b}
    blend, selection = select(margins, y, seed=0)
    assert selection.shipped == STACKING
    assert selection.weights["b_only"] < 0 < selection.weights["sum"]
    stacked = next(s for s in selection.candidates if s.candidate == STACKING and s.method == selection.method)
    blended = min(s.log_loss for s in selection.candidates if s.candidate == ENSEMBLE)
    assert stacked.log_loss < blended
    assert blend.predict(margins) == pytest.approx(fit_stack(margins, ["sum", "b_only"], y,
                                                             selection.method).predict(margins))

import numpy as np
import pytest
from scipy.special import expit

from leadscore.trainer.calibration import IsotonicCalibrator, SigmoidCalibrator, logit
from leadscore.trainer.metrics import logloss


def _scores(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = rng.normal(0, 2, n)
    y = (rng.random(n) < expit(0.5 * s - 1.0)).astype(int)  # over-confident scores
    return s, y


def test_sigmoid_calibrator_recovers_the_true_slope_and_offset():
    s, y = _scores(20000)
    calibrator = SigmoidCalibrator().fit(s, y)
    assert calibrator.a_ == pytest.approx(0.5, abs=0.05)
    assert calibrator.b_ == pytest.approx(-1.0, abs=0.08)


def test_sigmoid_calibrator_lowers_log_loss_of_overconfident_scores():
    s, y = _scores()
    assert logloss(y, SigmoidCalibrator().fit(s, y).predict(s)) < logloss(y, expit(s))


def test_isotonic_calibrator_is_monotone_and_inside_the_unit_interval():
    s, y = _scores()
    calibrator = IsotonicCalibrator().fit(s, y)
    grid = np.linspace(-10, 10, 1001)
    p = calibrator.predict(grid)
    assert np.all(np.diff(p) >= 0)
    assert p.min() > 0 and p.max() < 1


def test_isotonic_calibrator_keeps_knots_at_least_min_gap_apart():
    s, y = _scores()
    calibrator = IsotonicCalibrator(min_gap=0.2).fit(s, y)
    assert np.diff(calibrator.x_).min() >= 0.2


def test_isotonic_calibrator_predicts_the_base_rate_when_scores_carry_no_signal():
    s = np.linspace(-1, 1, 400)
    y = np.zeros(400, dtype=int)
    y[::4] = 1  # evenly spread: no trend in the score
    p = IsotonicCalibrator().fit(s, y).predict(s)
    assert np.average(p) == pytest.approx(0.25, abs=0.02)
    assert p.max() - p.min() < 0.2


def test_logit_is_finite_at_zero_and_one():
    values = logit(np.array([0.0, 0.5, 1.0]))
    assert np.all(np.isfinite(values))
    assert values[1] == pytest.approx(0.0)

"""Calibrators that map a model's logit-scale score to a probability, and how one is chosen.

Both act on the score ``s = sum_i w_i * logit(p_i)`` (one model: its own logit), so a single
model and an ensemble are calibrated the same way, and both are exactly expressible as a
handful of ONNX operators (see ``onnx_graph``):

- ``SigmoidCalibrator`` (Platt): ``p = sigmoid(a * s + b)``.
- ``IsotonicCalibrator``: the pool-adjacent-violators fit, represented as a piecewise-linear
  function through the centre of each block, with knots closer than ``min_gap`` pooled.
  Interpolating between block centres (instead of sklearn's block edges) and pooling
  near-duplicate knots bounds the slope, so a 1e-7 float32 wobble in a tree ensemble's
  output cannot move the calibrated probability by more than the ONNX parity tolerance.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.utils.validation import check_is_fitted

from leadscore.trainer.metrics import PROBABILITY_EPS, clip


def logit(p: np.ndarray) -> np.ndarray:
    p = clip(p)
    return np.log(p) - np.log1p(-p)


class SigmoidCalibrator(BaseEstimator):
    """Platt scaling on a logit-scale score, fitted by maximum likelihood."""

    def fit(self, s: np.ndarray, y: np.ndarray) -> SigmoidCalibrator:
        s = np.asarray(s, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)

        def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
            z = params[0] * s + params[1]
            p = clip(expit(z))
            value = -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))
            residual = p - y
            return float(value), np.array([np.mean(residual * s), np.mean(residual)])

        result = minimize(loss, x0=np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
        self.a_, self.b_ = float(result.x[0]), float(result.x[1])
        return self

    def predict(self, s: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "a_")
        return expit(self.a_ * np.asarray(s, dtype=np.float64) + self.b_)

    def to_dict(self) -> dict[str, object]:
        return {"method": "sigmoid", "a": self.a_, "b": self.b_}


class IsotonicCalibrator(BaseEstimator):
    """Monotone piecewise-linear calibration with a bounded slope (see the module docstring)."""

    def __init__(self, min_gap: float = 0.05) -> None:
        self.min_gap = min_gap

    def fit(self, s: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        s = np.asarray(s, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        order = np.argsort(s, kind="stable")
        s_sorted = s[order]
        fitted = IsotonicRegression(out_of_bounds="clip").fit(s_sorted, y[order]).predict(s_sorted)
        starts = np.flatnonzero(np.r_[True, fitted[1:] != fitted[:-1]])
        counts = np.diff(np.r_[starts, len(fitted)]).astype(np.float64)
        xs = np.add.reduceat(s_sorted, starts) / counts
        ys = fitted[starts]
        self.x_, self.y_ = _pool_close_knots(xs, ys, counts, self.min_gap)
        self.y_ = np.clip(self.y_, PROBABILITY_EPS, 1.0 - PROBABILITY_EPS)
        return self

    def predict(self, s: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "x_")
        return np.interp(np.asarray(s, dtype=np.float64), self.x_, self.y_)

    def to_dict(self) -> dict[str, object]:
        return {"method": "isotonic", "x": self.x_.tolist(), "y": self.y_.tolist()}


def _pool_close_knots(
    xs: np.ndarray, ys: np.ndarray, weights: np.ndarray, min_gap: float
) -> tuple[np.ndarray, np.ndarray]:
    """Merge the closest adjacent knots (weighted means) until all gaps are >= ``min_gap``.

    Means of adjacent knots of a non-decreasing sequence stay non-decreasing, so the result
    is still monotone.
    """
    x: list[float] = xs.tolist()
    y: list[float] = ys.tolist()
    w: list[float] = weights.tolist()
    while len(x) > 1:
        gaps = np.diff(x)
        i = int(np.argmin(gaps))
        if gaps[i] >= min_gap:
            break
        pooled = w[i] + w[i + 1]
        x[i] = (x[i] * w[i] + x[i + 1] * w[i + 1]) / pooled
        y[i] = (y[i] * w[i] + y[i + 1] * w[i + 1]) / pooled
        w[i] = pooled
        del x[i + 1], y[i + 1], w[i + 1]
    return np.asarray(x), np.asarray(y)


Calibrator = SigmoidCalibrator | IsotonicCalibrator
METHODS: dict[str, type[SigmoidCalibrator] | type[IsotonicCalibrator]] = {
    "sigmoid": SigmoidCalibrator,
    "isotonic": IsotonicCalibrator,
}


def make_calibrator(method: str) -> Calibrator:
    return METHODS[method]()

"""Which model ships: one calibrated model, a calibrated weighted blend, or a stacking ensemble.

Everything here is fitted on the selection rows (``refit.Holdout``): margins of models that never
trained on the rows they score. Two ways to combine the members compete:

- the **blend** (``ensemble``): simplex weights (non-negative, summing to one) fitted by maximum
  likelihood with a free scale and offset, members under ``MIN_WEIGHT`` dropped;
- **stacking** (``stacking``, seed 003): an L2 logistic regression, the meta-learner, on the
  members' margins. Its weights are free (a member may be subtracted) and it keeps every member.
  The margins it learns from are the members' cross-fitted (out-of-fold) predictions, so it never
  sees a member's score on that member's own training rows.

Either combination is a linear score ``sum_i w_i * margin_i`` followed by a calibrator, so both
export to the same ONNX tail. To avoid judging a calibrator or a set of weights on the very rows
that fitted it, each candidate (every single model, the blend and the stack of all of them) is
scored by K-fold cross-fitting on the selection rows: weights and calibrator are fitted on K-1
folds and predict the held-out fold. The candidate and calibration method with the lowest
out-of-fold log loss win; a combination ships only when it beats the best single model, and
stacking only when it also beats the blend. The winner is then refitted on all selection rows.
The test part is never looked at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel
from scipy.optimize import minimize
from scipy.special import expit, softmax
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from leadscore.trainer.calibration import METHODS, Calibrator, make_calibrator
from leadscore.trainer.metrics import brier, clip, logloss

ENSEMBLE = "ensemble"
STACKING = "stacking"
COMBINATIONS = (ENSEMBLE, STACKING)
FOLDS = 5
STACKING_C = 1.0
"""Inverse L2 strength of the meta-learner (scikit-learn's C) on raw member margins."""
# Members below this weight add inference cost for no measurable gain; they are dropped and
# the rest refitted.
MIN_WEIGHT = 0.02


@dataclass
class Blend:
    """``p = calibrator(sum_i w_i * margin_i)`` over named members' raw margins (log-odds)."""

    members: list[str]
    weights: np.ndarray
    calibrator: Calibrator
    method: str = field(default="sigmoid")

    def score(self, margins: Mapping[str, np.ndarray]) -> np.ndarray:
        return np.column_stack([margins[m] for m in self.members]) @ self.weights

    def predict(self, margins: Mapping[str, np.ndarray]) -> np.ndarray:
        return self.calibrator.predict(self.score(margins))


class CandidateScore(BaseModel):
    """Out-of-fold validation quality of one candidate with one calibration method."""

    candidate: str
    method: str
    log_loss: float
    brier: float
    roc_auc: float


class Selection(BaseModel):
    """What ships and why, with every candidate's cross-fitted scores."""

    shipped: str
    method: str
    members: list[str]
    weights: dict[str, float]
    reason: str
    candidates: list[CandidateScore]


def fit_weights(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Simplex weights maximizing the likelihood of ``sigmoid(a * logits @ w + b)``.

    The free scale ``a`` and offset ``b`` make the weights about ranking and sharpness only;
    the calibrator fitted afterwards owns the final probability scale.
    """
    m = logits.shape[1]
    if m == 1:
        return np.ones(1)
    y = y.astype(np.float64)

    def loss(params: np.ndarray) -> float:
        weights = softmax(params[:m])
        p = clip(expit(params[m] * (logits @ weights) + params[m + 1]))
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))

    result = minimize(loss, x0=np.r_[np.zeros(m), 1.0, 0.0], method="L-BFGS-B")
    return softmax(result.x[:m])


def stack_weights(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The logistic meta-learner's coefficients on the members' margins (its intercept is left
    to the calibrator fitted on ``logits @ w`` afterwards, which recovers it exactly for sigmoid)."""
    from sklearn.linear_model import LogisticRegression

    meta = LogisticRegression(C=STACKING_C, max_iter=1000).fit(logits, y)
    return meta.coef_[0].astype(np.float64)


def fit_stack(margins: Mapping[str, np.ndarray], members: list[str], y: np.ndarray, method: str) -> Blend:
    """The meta-learner's weights, then the calibrator, on the same rows (every member kept)."""
    logits = np.column_stack([margins[m] for m in members])
    weights = stack_weights(logits, y)
    calibrator = make_calibrator(method).fit(logits @ weights, y)
    return Blend(members=list(members), weights=weights, calibrator=calibrator, method=method)


def fit_candidate(candidate: str, margins: Mapping[str, np.ndarray], members: list[str], y: np.ndarray,
                  method: str) -> Blend:
    """Stacking for ``STACKING``, the simplex blend otherwise (one member: weight 1)."""
    return (fit_stack if candidate == STACKING else fit_blend)(margins, members, y, method)


def fit_blend(margins: Mapping[str, np.ndarray], members: list[str], y: np.ndarray, method: str) -> Blend:
    """Weights (pruning members under ``MIN_WEIGHT``), then the calibrator, on the same rows."""
    members = list(members)
    while True:
        logits = np.column_stack([margins[m] for m in members])
        weights = fit_weights(logits, y)
        keep = weights >= MIN_WEIGHT
        if keep.all():
            break
        members = [m for m, k in zip(members, keep, strict=True) if k]
    calibrator = make_calibrator(method).fit(logits @ weights, y)
    return Blend(members=members, weights=weights, calibrator=calibrator, method=method)


def _out_of_fold(candidate: str, margins: Mapping[str, np.ndarray], members: list[str], y: np.ndarray,
                 method: str, seed: int) -> np.ndarray:
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    out = np.empty(len(y), dtype=np.float64)
    for fit_rows, held_out in folds.split(np.zeros(len(y)), y):
        blend = fit_candidate(candidate, {m: margins[m][fit_rows] for m in members}, members, y[fit_rows], method)
        out[held_out] = blend.predict({m: margins[m][held_out] for m in blend.members})
    return out


def choose(scores: list[CandidateScore]) -> tuple[CandidateScore, str]:
    """The winning candidate x method and why: the best single model unless a combination has a
    lower cross-fitted log loss; of the two combinations, the lower (the blend on a tie)."""
    best_single = min((s for s in scores if s.candidate not in COMBINATIONS), key=lambda s: s.log_loss)
    reason = f"{best_single.candidate} had the lowest cross-fitted validation log loss ({best_single.log_loss:.5f})"
    combined = {c: min(group, key=lambda s: s.log_loss)
                for c in COMBINATIONS if (group := [s for s in scores if s.candidate == c])}
    if not combined:
        return best_single, reason
    best_combined = min(combined.values(), key=lambda s: (s.log_loss, s.candidate != ENSEMBLE))
    others = ", ".join(f"the {s.candidate} ({s.log_loss:.5f})" for s in combined.values() if s is not best_combined)
    if best_combined.log_loss < best_single.log_loss:
        return best_combined, (f"the {best_combined.candidate}'s cross-fitted validation log loss "
                               f"{best_combined.log_loss:.5f} beat the best single model ({best_single.candidate}, "
                               f"{best_single.log_loss:.5f})" + (f" and {others}" if others else ""))
    return best_single, reason + (f"; no combination beat it (the {best_combined.candidate} "
                                  f"({best_combined.log_loss:.5f})" + (f", {others}" if others else "")
                                  + "), so a single model ships")


def select(margins: Mapping[str, np.ndarray], y: np.ndarray, seed: int,
           allow_ensemble: bool = True) -> tuple[Blend, Selection]:
    """Cross-fit every candidate x calibration method on the selection rows; refit the winner."""
    names = list(margins)
    candidates: dict[str, list[str]] = {name: [name] for name in names}
    if allow_ensemble and len(names) > 1:
        candidates.update({combination: names for combination in COMBINATIONS})
    scores = []
    for candidate, members in candidates.items():
        for method in METHODS:
            oof = _out_of_fold(candidate, margins, members, y, method, seed)
            scores.append(CandidateScore(candidate=candidate, method=method, log_loss=logloss(y, oof),
                                         brier=brier(y, oof), roc_auc=float(roc_auc_score(y, oof))))
    best, reason = choose(scores)
    blend = fit_candidate(best.candidate, margins, candidates[best.candidate], y, best.method)
    shipped = best.candidate if len(blend.members) > 1 or best.candidate not in COMBINATIONS else blend.members[0]
    selection = Selection(
        shipped=shipped, method=best.method, members=blend.members,
        weights={m: float(w) for m, w in zip(blend.members, blend.weights, strict=True)},
        reason=reason, candidates=scores,
    )
    return blend, selection

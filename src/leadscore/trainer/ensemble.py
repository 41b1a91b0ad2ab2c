"""Which model ships: one calibrated model or a calibrated weighted ensemble.

Everything here is fitted on the validation part, which the boosters only used for early
stopping and the search for its score. To avoid judging a calibrator or a set of weights on
the very rows that fitted it, each candidate (every single model, and the ensemble of all
of them) is scored by K-fold cross-fitting on validation: weights and calibrator are fitted
on K-1 folds and predict the held-out fold. The candidate and calibration method with the
lowest out-of-fold log loss win; the ensemble ships only when it beats the best single
model. The winner is then refitted on the whole validation part.
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
FOLDS = 5
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


def _out_of_fold(margins: Mapping[str, np.ndarray], members: list[str], y: np.ndarray,
                 method: str, seed: int) -> np.ndarray:
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    out = np.empty(len(y), dtype=np.float64)
    for fit_rows, held_out in folds.split(np.zeros(len(y)), y):
        blend = fit_blend({m: margins[m][fit_rows] for m in members}, members, y[fit_rows], method)
        out[held_out] = blend.predict({m: margins[m][held_out] for m in blend.members})
    return out


def select(margins: Mapping[str, np.ndarray], y: np.ndarray, seed: int,
           allow_ensemble: bool = True) -> tuple[Blend, Selection]:
    """Cross-fit every candidate x calibration method on validation; refit the winner."""
    names = list(margins)
    candidates: dict[str, list[str]] = {name: [name] for name in names}
    if allow_ensemble and len(names) > 1:
        candidates[ENSEMBLE] = names
    scores = []
    for candidate, members in candidates.items():
        for method in METHODS:
            oof = _out_of_fold(margins, members, y, method, seed)
            scores.append(CandidateScore(candidate=candidate, method=method, log_loss=logloss(y, oof),
                                         brier=brier(y, oof), roc_auc=float(roc_auc_score(y, oof))))
    best_single = min((s for s in scores if s.candidate != ENSEMBLE), key=lambda s: s.log_loss)
    best = best_single
    reason = f"{best_single.candidate} had the lowest cross-fitted validation log loss ({best_single.log_loss:.5f})"
    ensembles = [s for s in scores if s.candidate == ENSEMBLE]
    if ensembles:
        best_ensemble = min(ensembles, key=lambda s: s.log_loss)
        if best_ensemble.log_loss < best_single.log_loss:
            best = best_ensemble
            reason = (f"the ensemble's cross-fitted validation log loss {best_ensemble.log_loss:.5f} beat "
                      f"the best single model ({best_single.candidate}, {best_single.log_loss:.5f})")
        else:
            reason += (f"; the ensemble ({best_ensemble.log_loss:.5f}) did not beat it, "
                       "so a single model ships")
    blend = fit_blend(margins, candidates[best.candidate], y, best.method)
    shipped = best.candidate if len(blend.members) > 1 or best.candidate != ENSEMBLE else blend.members[0]
    selection = Selection(
        shipped=shipped, method=best.method, members=blend.members,
        weights={m: float(w) for m, w in zip(blend.members, blend.weights, strict=True)},
        reason=reason, candidates=scores,
    )
    return blend, selection

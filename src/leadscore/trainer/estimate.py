"""A k-fold estimate of the shipped configuration over every labelled row, beside the one test part.

On a small data set the test part holds few positives: a few thousand leads with a 10 % rate
leave 60-90 positives in a 15 % test part, and its ROC-AUC moves by about 0.03 with the split.
Once the configuration is fixed (members, tuned parameters, rounds, blend weights: all chosen
without the test rows), ``cross_validate`` refits it on K-1 folds of *all* labelled rows and
scores the K-th, the feature pipeline included (refitted per fold, so no held-out label reaches
a target-rate encoding). Its mean is a lower-variance estimate; it is slightly optimistic, as the
configuration was chosen on about (K-1)/K of the rows it is assessed on (no nested search), and
is reported beside the test part's number, never instead of it. ROC-AUC is a rank metric: the
monotone calibrator is not refitted per fold. A time-ordered split gets none (shuffled folds would
train on the future).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from leadscore.trainer.algorithms.base import TrainData
from leadscore.trainer.ensemble import Blend
from leadscore.trainer.refit import CV_MIN_POSITIVES, scaled_rounds
from leadscore.trainer.tuning import Tuned

DEFAULT_FOLDS = 5


@dataclass(frozen=True)
class FoldPlan:
    """How many folds, or 0, and why (the card's sentence)."""

    folds: int
    reason: str


def plan(asked: int | None, strategy: str, test_positives: int) -> FoldPlan:
    """``asked`` None: ``DEFAULT_FOLDS`` when the split is stratified and the test part holds fewer
    than ``CV_MIN_POSITIVES`` positives; 0: off; otherwise that many folds (stratified splits only)."""
    if strategy != "stratified":
        return FoldPlan(0, "the split is by time: shuffled folds would train on the future")
    if asked == 0:
        return FoldPlan(0, "switched off (--cv-folds 0)")
    if asked is not None:
        return FoldPlan(asked, f"asked for (--cv-folds {asked})")
    if test_positives < CV_MIN_POSITIVES:
        return FoldPlan(DEFAULT_FOLDS, f"the test part holds {test_positives} positives (fewer than "
                                       f"{CV_MIN_POSITIVES}): its ROC-AUC alone is noisy")
    return FoldPlan(0, f"the test part holds {test_positives} positives (at least {CV_MIN_POSITIVES})")


@dataclass(frozen=True)
class CrossValidated:
    folds: int
    roc_auc: list[float]

    @property
    def mean(self) -> float:
        return float(np.mean(self.roc_auc))

    @property
    def sd(self) -> float:
        return float(np.std(self.roc_auc, ddof=1)) if len(self.roc_auc) > 1 else 0.0


def cross_validate(tuned: dict[str, Tuned], blend: Blend, frame: pd.DataFrame, y: np.ndarray,
                   soft: np.ndarray | None, make_features: Any, data: TrainData, folds: int) -> CrossValidated:
    """ROC-AUC per fold of ``blend``'s members refitted on the other folds (module docstring).

    ``frame`` and ``y`` are every labelled row; ``make_features()`` returns an unfitted feature
    pipeline configured as the shipped one; ``data`` gives the seed, threads and device."""
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=data.seed)
    train_rows = len(data.y_train)
    scores = []
    for fit_rows, held_out in splitter.split(np.zeros(len(y)), y):
        features = make_features()
        x_fit = features.fit_transform(frame.iloc[fit_rows], y[fit_rows])
        x_held = features.transform(frame.iloc[held_out])
        fold = TrainData(x_fit, y[fit_rows], x_held, y[held_out], seed=data.seed, device=data.device,
                         threads=data.threads)
        margins = {}
        for name in blend.members:
            result = tuned[name]
            model = result.algorithm.refit(fold, x_fit, y[fit_rows], result.params,
                                           scaled_rounds(result, len(fit_rows), train_rows),
                                           None if soft is None else soft[fit_rows])
            margins[name] = result.algorithm.margin(model, x_held)
        scores.append(float(roc_auc_score(y[held_out], blend.score(margins))))
    return CrossValidated(folds=folds, roc_auc=scores)

"""After the search: honest margins to select and calibrate on, and final models that learn from
every non-test row.

The search tunes each algorithm on the training part, early-stopped on the validation part.
Two things are then done differently from "ship the best trial":

- **Selection rows.** Which model (or ensemble) ships, and its calibrator, are chosen on margins
  from models that never trained on the rows they score. With enough validation positives
  (``CV_MIN_POSITIVES``) those are the search's own validation margins. With fewer, a single
  validation part is noise (the log-loss gap between candidates is smaller than its standard
  error), so every algorithm is cross-fitted on all non-test rows instead: ``CV_FOLDS`` fold
  models with the tuned parameters and a fixed, scaled number of rounds (no early stopping, so
  the held-out fold is never looked at), and their out-of-fold margins are the selection rows.
  A time-ordered split keeps its single validation slice: shuffled folds would let the model
  learn from the future it is judged on.
- **Final fit.** The shipped models are refitted on every non-test row with the tuned
  parameters, boosting rounds scaled by ``rows / training rows`` (more data supports
  proportionally more rounds at the same learning rate). The calibrator and blend weights fitted
  on the selection rows are applied to them: it never saw margins of a model trained on the
  rows it was fitted on. The test part stays untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from sklearn.model_selection import StratifiedKFold

from leadscore.trainer.algorithms.base import TrainData
from leadscore.trainer.tuning import Tuned

CV_MIN_POSITIVES = 200
"""Fewer validation positives than this: select on cross-fitted margins over all non-test rows.

At 50 positives the standard error of a validation log loss (or ROC-AUC, about 0.03) exceeds
the gap between the candidates it has to separate; at 200 it is about half that, and a data
set that large has enough rows for the search's early stopping to be stable too."""
CV_FOLDS = 5

SelectionRows = Literal["validation", "cross-validation"]


@dataclass(frozen=True)
class Holdout:
    """Margins of models that did not learn from the rows they score, with those rows' labels."""

    margins: dict[str, np.ndarray]
    y: np.ndarray
    selection: SelectionRows
    folds: int | None

    @property
    def positives(self) -> int:
        return int(self.y.sum())


def non_test(data: TrainData) -> tuple[np.ndarray, np.ndarray]:
    """Training then validation rows: everything the final model may learn from."""
    return np.concatenate([data.x_train, data.x_valid]), np.concatenate([data.y_train, data.y_valid])


def non_test_targets(data: TrainData) -> np.ndarray | None:
    """The graded targets of the same rows (None when the training learns from the binary outcome)."""
    if data.t_train is None or data.t_valid is None:
        return None
    return np.concatenate([data.t_train, data.t_valid])


def use_cross_validation(y_valid: np.ndarray, strategy: str) -> bool:
    return strategy == "stratified" and int(np.sum(y_valid)) < CV_MIN_POSITIVES


def scaled_rounds(tuned: Tuned, rows: int, train_rows: int) -> int | None:
    """The search's early-stopped rounds scaled to ``rows`` (None for non-iterative models; an
    MLP's epochs unscaled)."""
    kept = tuned.algorithm.iterations(tuned.model)
    if kept is None or not tuned.algorithm.rounds_scale_with_rows:
        return kept
    return max(1, round(kept * rows / train_rows))


def cross_fitted(tuned: dict[str, Tuned], data: TrainData, folds: int = CV_FOLDS) -> Holdout:
    """Out-of-fold margins of every algorithm over all non-test rows (same folds for all)."""
    x, y = non_test(data)
    soft = non_test_targets(data)
    train_rows = len(data.y_train)
    margins = {name: np.empty(len(y), dtype=np.float64) for name in tuned}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=data.seed)
    for fit_rows, held_out in splitter.split(np.zeros(len(y)), y):
        for name, result in tuned.items():
            rounds = scaled_rounds(result, len(fit_rows), train_rows)
            model = result.algorithm.refit(data, x[fit_rows], y[fit_rows], result.params, rounds,
                                           None if soft is None else soft[fit_rows])
            margins[name][held_out] = result.algorithm.margin(model, x[held_out])
    return Holdout(margins=margins, y=y, selection="cross-validation", folds=folds)


def validation(tuned: dict[str, Tuned], data: TrainData) -> Holdout:
    """The search's own validation margins (its models trained on the training part only)."""
    return Holdout(margins={n: t.valid_margin for n, t in tuned.items()}, y=data.y_valid,
                   selection="validation", folds=None)


def holdout(tuned: dict[str, Tuned], data: TrainData, strategy: str) -> Holdout:
    if use_cross_validation(data.y_valid, strategy):
        return cross_fitted(tuned, data)
    return validation(tuned, data)


def refit_all(tuned: dict[str, Tuned], data: TrainData) -> dict[str, Tuned]:
    """Each algorithm's tuned configuration refitted on every non-test row (the search's
    validation margin and log loss are kept as the record of the search)."""
    x, y = non_test(data)
    soft = non_test_targets(data)
    train_rows = len(data.y_train)
    return {name: replace(result, model=result.algorithm.refit(data, x, y, result.params,
                                                               scaled_rounds(result, len(y), train_rows), soft))
            for name, result in tuned.items()}

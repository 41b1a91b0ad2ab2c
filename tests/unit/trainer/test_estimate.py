"""When the k-fold estimate runs, and that it scores the configuration, not the shipped model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadscore.trainer import estimate, refit


@pytest.mark.parametrize(("asked", "strategy", "positives", "folds"), [
    (None, "stratified", refit.CV_MIN_POSITIVES - 1, estimate.DEFAULT_FOLDS),
    (None, "stratified", refit.CV_MIN_POSITIVES, 0),
    (0, "stratified", 10, 0),
    (3, "stratified", 10_000, 3),
    (None, "time", 10, 0),
    (7, "time", 10, 0),
])
def test_the_plan_runs_folds_on_small_shuffled_data_or_when_asked(asked, strategy, positives, folds):
    planned = estimate.plan(asked, strategy, positives)
    assert planned.folds == folds and planned.reason


def test_cross_validation_refits_features_and_members_per_fold():
    """A logistic member on one informative column: every fold's AUC well above chance, and the
    feature pipeline is built once per fold (a fresh one each time)."""
    from leadscore.trainer.algorithms import ALGORITHMS, TrainData
    from leadscore.trainer.calibration import SigmoidCalibrator
    from leadscore.trainer.ensemble import Blend
    from leadscore.trainer.tuning import Tuned

    rng = np.random.default_rng(3)
    x = rng.normal(size=(600, 2))
    y = (rng.random(600) < 1 / (1 + np.exp(-2 * x[:, 0]))).astype(np.int64)
    frame = pd.DataFrame(x, columns=["signal", "noise"])
    built = []

    class Identity:
        def fit_transform(self, table, labels):
            return table.to_numpy()

        def transform(self, table):
            return table.to_numpy()

    def make_features():
        built.append(1)
        return Identity()

    lr = ALGORITHMS["lr"]
    data = TrainData(x[:400], y[:400], x[400:], y[400:], seed=1)
    params = lr.default_params()
    tuned = {"lr": Tuned(algorithm=lr, params=params, model=lr.fit(data, params, None), valid_margin=np.zeros(200),
                         valid_log_loss=0.0, trials=1, pruned=0, seconds=0.0)}
    blend = Blend(members=["lr"], weights=np.array([1.0]), calibrator=SigmoidCalibrator())
    result = estimate.cross_validate(tuned, blend, frame, y, None, make_features, data, folds=4)
    assert len(built) == 4 and result.folds == 4
    assert all(auc > 0.75 for auc in result.roc_auc) and result.sd >= 0

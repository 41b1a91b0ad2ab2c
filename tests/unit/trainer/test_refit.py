"""The final fit on every non-test row, and selection on cross-fitted margins for small data."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from leadscore.data import conversion_rate_warning
from leadscore.trainer import refit
from leadscore.trainer.algorithms import ALGORITHMS, TrainData
from leadscore.trainer.tuning import tune


def _data(rows: int = 900, positive_rate: float = 0.3, seed: int = 0, signal: float = 2.0) -> TrainData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4)).astype(np.float32)
    logit = signal * x[:, 0] + np.log(positive_rate / (1 - positive_rate))
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    cut = rows * 2 // 3
    return TrainData(x[:cut], y[:cut], x[cut:], y[cut:], seed=seed, threads=1)


@pytest.fixture(scope="module")
def data() -> TrainData:
    return _data()


@pytest.fixture(scope="module")
def searched(data: TrainData) -> dict:
    return {name: tune(ALGORITHMS[name], data, trials=1, timeout=None) for name in ("lr", "lightgbm", "xgboost")}


def test_cross_validation_kicks_in_below_the_positive_threshold_only_for_a_stratified_split() -> None:
    few = np.r_[np.ones(refit.CV_MIN_POSITIVES - 1), np.zeros(500)]
    enough = np.r_[np.ones(refit.CV_MIN_POSITIVES), np.zeros(500)]
    assert refit.use_cross_validation(few, "stratified")
    assert not refit.use_cross_validation(enough, "stratified")
    assert not refit.use_cross_validation(few, "time")  # shuffled folds would learn from the future


def test_refit_learns_from_every_non_test_row_with_rounds_scaled(data: TrainData, searched: dict) -> None:
    final = refit.refit_all(searched, data)
    rows = len(data.y_train) + len(data.y_valid)
    assert final["lr"].model.named_steps["scale"].n_samples_seen_ == rows
    for name in ("lightgbm", "xgboost"):
        searched_rounds = ALGORITHMS[name].iterations(searched[name].model)
        assert final[name].model.n_features_in_ == data.n_features
        assert ALGORITHMS[name].iterations(final[name].model) == round(searched_rounds * rows / len(data.y_train))
    # The search's record is kept; only the model changes.
    assert final["lightgbm"].params == searched["lightgbm"].params
    assert final["lightgbm"].valid_log_loss == searched["lightgbm"].valid_log_loss


def test_refitted_xgboost_saves_every_round(data: TrainData, searched: dict, tmp_path: Path) -> None:
    import xgboost as xgb

    model = refit.refit_all({"xgboost": searched["xgboost"]}, data)["xgboost"].model
    ALGORITHMS["xgboost"].save_native(model, tmp_path / "x.json")
    booster = xgb.Booster(model_file=str(tmp_path / "x.json"))
    assert booster.num_boosted_rounds() == ALGORITHMS["xgboost"].iterations(model)


def test_holdout_uses_the_validation_margins_when_positives_are_plenty(data: TrainData, searched: dict) -> None:
    big = replace(data, y_valid=np.ones_like(data.y_valid))  # every validation row positive: >= threshold
    assert len(big.y_valid) >= refit.CV_MIN_POSITIVES
    holdout = refit.holdout(searched, big, "stratified")
    assert holdout.selection == "validation" and holdout.folds is None
    np.testing.assert_array_equal(holdout.margins["lr"], searched["lr"].valid_margin)


def test_holdout_cross_fits_over_all_non_test_rows_when_positives_are_few(data: TrainData, searched: dict) -> None:
    assert data.y_valid.sum() < refit.CV_MIN_POSITIVES
    holdout = refit.holdout(searched, data, "stratified")
    assert holdout.selection == "cross-validation" and holdout.folds == refit.CV_FOLDS
    assert len(holdout.y) == len(data.y_train) + len(data.y_valid)
    assert set(holdout.margins) == set(searched)
    assert all(np.isfinite(m).all() and len(m) == len(holdout.y) for m in holdout.margins.values())


def test_cross_fitted_margins_never_come_from_a_model_that_saw_the_row() -> None:
    """Random labels and a booster that memorises: margins on its own training rows rank the
    labels almost perfectly, out-of-fold margins (what calibration is fitted on) cannot."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(600, 6)).astype(np.float32)
    y = (rng.random(600) < 0.3).astype(np.int64)
    data = TrainData(x[:400], y[:400], x[400:], y[400:], seed=5, threads=1)
    memoriser = {"num_leaves": 64, "min_child_samples": 1, "learning_rate": 0.3, "subsample": 1.0,
                 "colsample_bytree": 1.0, "reg_lambda": 0.0, "min_child_weight": 0.0}
    searched = tune(ALGORITHMS["lightgbm"], data, trials=1, timeout=None)
    searched = replace(searched, params=memoriser)
    holdout = refit.cross_fitted({"lightgbm": searched}, data)
    final = refit.refit_all({"lightgbm": searched}, data)["lightgbm"].model
    x_all, y_all = refit.non_test(data)
    in_sample = roc_auc_score(y_all, ALGORITHMS["lightgbm"].margin(final, x_all))
    out_of_fold = roc_auc_score(holdout.y, holdout.margins["lightgbm"])
    assert in_sample > 0.9
    assert abs(out_of_fold - 0.5) < 0.1


def test_conversion_rate_warning_outside_5_to_95_percent() -> None:
    assert conversion_rate_warning(0.5) is None
    assert conversion_rate_warning(0.05) is None
    low, high = conversion_rate_warning(0.02), conversion_rate_warning(0.97)
    assert low is not None and "2.0%" in low and "below" in low
    assert high is not None and "above" in high

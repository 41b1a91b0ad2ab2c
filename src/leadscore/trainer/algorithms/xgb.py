"""XGBoost (hist), early-stopped on validation log loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from leadscore.trainer.algorithms.base import (
    EARLY_STOPPING_ROUNDS,
    MAX_ROUNDS,
    ONNX_OPSET,
    Algorithm,
    Reporter,
    TrainData,
    soft_rows,
    stop_every,
)


class XGBoostAlgorithm(Algorithm):
    name = "xgboost"
    native_file = "xgboost.json"

    def default_params(self) -> dict[str, Any]:
        return {"max_depth": 5, "learning_rate": 0.05, "min_child_weight": 2.0, "subsample": 0.8,
                "colsample_bytree": 0.8, "reg_lambda": 1.0, "scale_pos_weight": 1.0}

    def regularised_params(self) -> dict[str, Any]:
        return {"max_depth": 3, "learning_rate": 0.03, "min_child_weight": 10.0, "subsample": 0.8,
                "colsample_bytree": 0.8, "reg_lambda": 5.0, "scale_pos_weight": 1.0}

    def search_space(self, trial: Any) -> dict[str, Any]:
        return {
            "max_depth": trial.suggest_int("max_depth", 1, 8),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 100.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.4, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 100.0, log=True),
            "scale_pos_weight": trial.suggest_float("scale_pos_weight", 1.0, 10.0, log=True),
        }

    def fit(self, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> Any:
        import xgboost as xgb

        class _Report(xgb.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
                return stop_every(reporter, epoch, evals_log["validation_0"]["logloss"][-1])

        model = _classifier(data, params, MAX_ROUNDS, early_stopping_rounds=EARLY_STOPPING_ROUNDS,
                            eval_metric="logloss", callbacks=[_Report()])
        x, y, weight = data.learning_rows()
        model.fit(x, y, sample_weight=weight, eval_set=[(data.x_valid, data.y_valid)], verbose=False)
        # Score on the CPU whatever trained it: parity and batch scoring run on host arrays.
        model.set_params(device="cpu", callbacks=None)
        return model

    def refit(self, data: TrainData, x: np.ndarray, y: np.ndarray, params: dict[str, Any],
              rounds: int | None, soft: np.ndarray | None = None) -> Any:
        model = _classifier(data, params, rounds or MAX_ROUNDS)
        x, y, weight = soft_rows(x, y, soft)
        model.fit(x, y, sample_weight=weight, verbose=False)
        model.set_params(device="cpu")
        return model

    def margin(self, model: Any, x: np.ndarray) -> np.ndarray:
        return model.predict(x, output_margin=True).astype(np.float64)

    def to_onnx(self, model: Any, n_features: int) -> Any:
        from onnxmltools import convert_xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType

        from leadscore.trainer.onnx_graph import tree_margin_model

        return tree_margin_model(convert_xgboost(
            model, initial_types=[("features", FloatTensorType([None, n_features]))], target_opset=ONNX_OPSET))

    def save_native(self, model: Any, path: Path) -> None:
        """Only the rounds kept by early stopping, so explanations match the scores."""
        model.get_booster()[: _kept_rounds(model)].save_model(str(path))

    def iterations(self, model: Any) -> int | None:
        return _kept_rounds(model)


def _classifier(data: TrainData, params: dict[str, Any], rounds: int, **extra: Any) -> Any:
    import xgboost as xgb

    return xgb.XGBClassifier(n_estimators=rounds, tree_method="hist", device=data.device,
                             n_jobs=data.threads or None, random_state=data.seed, **extra, **params)


def _kept_rounds(model: Any) -> int:
    """Rounds early stopping kept; every round of a refit (which has no early stopping)."""
    booster = model.get_booster()
    best = booster.attr("best_iteration")
    return int(best) + 1 if best is not None else int(booster.num_boosted_rounds())

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
    stop_every,
)


class XGBoostAlgorithm(Algorithm):
    name = "xgboost"
    native_file = "xgboost.json"

    def default_params(self) -> dict[str, Any]:
        return {"max_depth": 5, "learning_rate": 0.05, "min_child_weight": 2.0, "subsample": 0.8,
                "colsample_bytree": 0.8, "reg_lambda": 1.0}

    def search_space(self, trial: Any) -> dict[str, Any]:
        return {
            "max_depth": trial.suggest_int("max_depth", 2, 8),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 20.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        }

    def fit(self, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> Any:
        import xgboost as xgb

        class _Report(xgb.callback.TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
                return stop_every(reporter, epoch, evals_log["validation_0"]["logloss"][-1])

        model = xgb.XGBClassifier(
            n_estimators=MAX_ROUNDS, early_stopping_rounds=EARLY_STOPPING_ROUNDS, eval_metric="logloss",
            tree_method="hist", device=data.device, n_jobs=data.threads or None, random_state=data.seed,
            callbacks=[_Report()], **params,
        )
        model.fit(data.x_train, data.y_train, eval_set=[(data.x_valid, data.y_valid)], verbose=False)
        # Score on the CPU whatever trained it: parity and batch scoring run on host arrays.
        model.set_params(device="cpu", callbacks=None)
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
        model.get_booster()[: model.best_iteration + 1].save_model(str(path))

    def iterations(self, model: Any) -> int | None:
        return int(model.best_iteration) + 1

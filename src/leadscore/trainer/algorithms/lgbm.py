"""LightGBM, early-stopped on validation log loss (CPU: the pip wheel has no CUDA)."""

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


class LightGBMAlgorithm(Algorithm):
    name = "lightgbm"
    native_file = "lightgbm.txt"

    def default_params(self) -> dict[str, Any]:
        return {"num_leaves": 31, "learning_rate": 0.05, "min_child_samples": 20, "subsample": 0.8,
                "colsample_bytree": 0.8, "reg_lambda": 1.0}

    def search_space(self, trial: Any) -> dict[str, Any]:
        return {
            "num_leaves": trial.suggest_int("num_leaves", 4, 128, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 200, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        }

    def fit(self, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> Any:
        import lightgbm as lgb

        def report(env: Any) -> None:
            _, _, value, _ = env.evaluation_result_list[0]
            if stop_every(reporter, env.iteration, value):
                raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)

        model = lgb.LGBMClassifier(
            n_estimators=MAX_ROUNDS, subsample_freq=1, random_state=data.seed, n_jobs=data.threads or None,
            verbose=-1, **params,
        )
        model.fit(data.x_train, data.y_train, eval_X=(data.x_valid,), eval_y=(data.y_valid,),
                  eval_metric="binary_logloss",
                  callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False), report])
        return model

    def margin(self, model: Any, x: np.ndarray) -> np.ndarray:
        return model.predict(x, raw_score=True).astype(np.float64)

    def to_onnx(self, model: Any, n_features: int) -> Any:
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.common.data_types import FloatTensorType

        from leadscore.trainer.onnx_graph import tree_margin_model

        return tree_margin_model(convert_lightgbm(
            model, initial_types=[("features", FloatTensorType([None, n_features]))], target_opset=ONNX_OPSET,
            zipmap=False))

    def save_native(self, model: Any, path: Path) -> None:
        model.booster_.save_model(str(path), num_iteration=model.best_iteration_ or None)

    def iterations(self, model: Any) -> int | None:
        return int(model.best_iteration_ or model.n_estimators_)

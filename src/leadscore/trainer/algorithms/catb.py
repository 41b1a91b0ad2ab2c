"""CatBoost on the numeric matrix (its ONNX export refuses categorical features)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from leadscore.trainer.algorithms.base import (
    EARLY_STOPPING_ROUNDS,
    MAX_ROUNDS,
    Algorithm,
    Reporter,
    TrainData,
    soft_rows,
    stop_every,
)


class _Report:
    """CatBoost's per-iteration callback protocol; returning False stops training."""

    def __init__(self, reporter: Reporter | None) -> None:
        self.reporter = reporter

    def after_iteration(self, info: Any) -> bool:
        return not stop_every(self.reporter, info.iteration, info.metrics["validation"]["Logloss"][-1])


class CatBoostAlgorithm(Algorithm):
    name = "catboost"
    native_file = "catboost.cbm"

    def default_params(self) -> dict[str, Any]:
        return {"depth": 6, "learning_rate": 0.05, "l2_leaf_reg": 3.0, "scale_pos_weight": 1.0}

    def regularised_params(self) -> dict[str, Any]:
        return {"depth": 4, "learning_rate": 0.03, "l2_leaf_reg": 10.0, "scale_pos_weight": 1.0}

    def search_space(self, trial: Any) -> dict[str, Any]:
        return {
            "depth": trial.suggest_int("depth", 2, 8),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 0.5, 100.0, log=True),
            "scale_pos_weight": trial.suggest_float("scale_pos_weight", 1.0, 10.0, log=True),
        }

    def fit(self, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> Any:
        model = _classifier(data, params, MAX_ROUNDS, eval_metric="Logloss",
                            early_stopping_rounds=EARLY_STOPPING_ROUNDS, use_best_model=True)
        # CatBoost runs no Python callbacks on the GPU; there the trial is judged only at the end.
        callbacks = None if data.device == "cuda" else [_Report(reporter)]
        x, y, weight = data.learning_rows()
        model.fit(x, y, sample_weight=weight, eval_set=(data.x_valid, data.y_valid), callbacks=callbacks)
        return model

    def refit(self, data: TrainData, x: np.ndarray, y: np.ndarray, params: dict[str, Any],
              rounds: int | None, soft: np.ndarray | None = None) -> Any:
        x, y, weight = soft_rows(x, y, soft)
        return _classifier(data, params, rounds or MAX_ROUNDS).fit(x, y, sample_weight=weight)

    def margin(self, model: Any, x: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(x, prediction_type="RawFormulaVal"), dtype=np.float64)

    def to_onnx(self, model: Any, n_features: int) -> Any:
        import onnx

        from leadscore.trainer.onnx_graph import tree_margin_model

        with tempfile.TemporaryDirectory(prefix="leadscore-catboost-") as tmp:
            path = Path(tmp, "catboost.onnx")
            model.save_model(str(path), format="onnx")
            return tree_margin_model(onnx.load(str(path)))

    def save_native(self, model: Any, path: Path) -> None:
        model.save_model(str(path), format="cbm")

    def iterations(self, model: Any) -> int | None:
        return int(model.tree_count_)


def _classifier(data: TrainData, params: dict[str, Any], rounds: int, **extra: Any) -> Any:
    from catboost import CatBoostClassifier

    return CatBoostClassifier(iterations=rounds, loss_function="Logloss", random_seed=data.seed,
                              thread_count=data.threads or -1, task_type="GPU" if data.device == "cuda" else "CPU",
                              allow_writing_files=False, verbose=False, **extra, **params)

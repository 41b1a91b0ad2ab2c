"""The baseline: median imputation, standardisation, L2 logistic regression, balanced classes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from leadscore.trainer.algorithms.base import ONNX_OPSET, Algorithm, Reporter, TrainData


class LogisticBaseline(Algorithm):
    name = "lr"
    native_file = "lr.json"

    def default_params(self) -> dict[str, Any]:
        return {"C": 1.0}

    def search_space(self, trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 1e-3, 1e2, log=True)}

    def fit(self, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> Pipeline:
        model = Pipeline([
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("lr", LogisticRegression(C=params["C"], class_weight="balanced", max_iter=2000)),
        ])
        return model.fit(data.x_train, data.y_train)

    def predict(self, model: Pipeline, x: np.ndarray) -> np.ndarray:
        return model.predict_proba(x)[:, 1].astype(np.float64)

    def to_onnx(self, model: Pipeline, n_features: int) -> Any:
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType

        return convert_sklearn(
            model, initial_types=[("features", FloatTensorType([None, n_features]))],
            options={LogisticRegression: {"zipmap": False}}, target_opset=ONNX_OPSET,
        )

    def save_native(self, model: Pipeline, path: Path) -> None:
        """Plain JSON: enough to recompute the linear score (and per-feature contributions)."""
        impute, scale, lr = model.named_steps["impute"], model.named_steps["scale"], model.named_steps["lr"]
        path.write_text(json.dumps({
            "impute_median": impute.statistics_.tolist(),
            "scale_mean": scale.mean_.tolist(),
            "scale_std": scale.scale_.tolist(),
            "coef": lr.coef_[0].tolist(),
            "intercept": float(lr.intercept_[0]),
            "C": float(lr.C),
            "class_weight": "balanced",
        }, indent=1))

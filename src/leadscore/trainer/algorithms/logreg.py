"""The baseline: median imputation, standardisation, L2 logistic regression, balanced classes.

It fits and scores in float64, as its ONNX graph and the explainer compute: scikit-learn keeps a
float32 matrix float32 through the pipeline and subtracts a float32-rounded mean, which moved a
column whose values lie a few float32 steps apart by whole standard deviations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from leadscore.trainer.algorithms.base import Algorithm, Reporter, TrainData, soft_rows


class LogisticBaseline(Algorithm):
    name = "lr"
    native_file = "lr.json"

    def default_params(self) -> dict[str, Any]:
        return {"C": 1.0}

    def search_space(self, trial: Any) -> dict[str, Any]:
        return {"C": trial.suggest_float("C", 1e-3, 1e2, log=True)}

    def fit(self, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> Pipeline:
        return self.refit(data, data.x_train, data.y_train, params, None, data.t_train)

    def refit(self, data: TrainData, x: np.ndarray, y: np.ndarray, params: dict[str, Any],
              rounds: int | None, soft: np.ndarray | None = None) -> Pipeline:
        x, y, weight = soft_rows(x, y, soft)
        if weight is not None:  # "balanced" counts rows; graded rows are balanced by their weights instead
            totals = np.array([weight[y == 0].sum(), weight[y == 1].sum()])
            weight = weight * weight.sum() / (2 * totals[y])
        model = Pipeline([
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("lr", LogisticRegression(C=params["C"], class_weight="balanced" if weight is None else None,
                                      max_iter=2000)),
        ])
        return model.fit(np.asarray(x, dtype=np.float64), y, lr__sample_weight=weight)

    def margin(self, model: Pipeline, x: np.ndarray) -> np.ndarray:
        return model.decision_function(np.asarray(x, dtype=np.float64))

    def to_onnx(self, model: Pipeline, n_features: int) -> Any:
        """Impute, scale and the dot product written out in float64.

        Hand-built rather than skl2onnx's float32 graph: the model is three vector operations,
        and float64 keeps its margin equal to scikit-learn's to ~1e-12.
        """
        from leadscore.trainer.onnx_graph import linear_margin_model

        impute, scale, lr = model.named_steps["impute"], model.named_steps["scale"], model.named_steps["lr"]
        return linear_margin_model(impute.statistics_, scale.mean_, scale.scale_, lr.coef_[0],
                                   float(lr.intercept_[0]), n_features)

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

"""Random forest (scikit-learn), seeds 002 and 004: 100 trees of depth 10 is where its search starts.

Its output is an average of leaf class frequencies, a probability, not log-odds; the margin is
``log(clip(p1)) - log(clip(p0))`` with each class's averaged frequency clipped to
[FOREST_EPS, 1 - FOREST_EPS] (pure leaves give exactly 0 or 1). The ONNX export
is written here from the fitted trees rather than by skl2onnx: each threshold becomes the
largest float32 not above scikit-learn's float64 threshold (scikit-learn compares float32
inputs against float64 thresholds, ONNX against float32 ones; see ``lgbm.float32_floor``), and
each node's learned direction for missing values is kept. The averaging runs in onnxruntime's
float32 (both classes, see ``onnx_graph.forest_margin_model``) and the logs in float64.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from leadscore.trainer.algorithms.base import Algorithm, Reporter, TrainData, soft_rows
from leadscore.trainer.algorithms.lgbm import float32_floor

FOREST_EPS = 1e-4
"""Probabilities are clipped to [eps, 1 - eps] before the logit: a margin of at most ~9.2."""


@dataclass(frozen=True)
class FittedForest:
    """The forest and the training medians (the explainer's reference point)."""

    forest: Any  # sklearn.ensemble.RandomForestClassifier
    reference: np.ndarray


class RandomForestAlgorithm(Algorithm):
    name = "randomforest"
    native_file = "randomforest.onnx"

    def default_params(self) -> dict[str, Any]:
        return {"n_estimators": 100, "max_depth": 10, "min_samples_leaf": 5, "max_features": 0.5,
                "max_samples": 0.8, "scale_pos_weight": 1.0}

    def regularised_params(self) -> dict[str, Any]:
        return {"n_estimators": 100, "max_depth": 6, "min_samples_leaf": 50, "max_features": 0.3,
                "max_samples": 0.6, "scale_pos_weight": 1.0}

    def search_space(self, trial: Any) -> dict[str, Any]:
        return {
            "n_estimators": trial.suggest_int("n_estimators", 50, 300, log=True),
            "max_depth": trial.suggest_int("max_depth", 3, 16),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 200, log=True),
            "max_features": trial.suggest_float("max_features", 0.1, 1.0),
            "max_samples": trial.suggest_float("max_samples", 0.3, 1.0),
            "scale_pos_weight": trial.suggest_float("scale_pos_weight", 1.0, 10.0, log=True),
        }

    def fit(self, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> FittedForest:
        """No learning curve to early-stop on: each trial fits its forest once."""
        return self.refit(data, data.x_train, data.y_train, params, None, data.t_train)

    def refit(self, data: TrainData, x: np.ndarray, y: np.ndarray, params: dict[str, Any],
              rounds: int | None, soft: np.ndarray | None = None) -> FittedForest:
        from sklearn.ensemble import RandomForestClassifier

        reference = _medians(np.asarray(x, dtype=np.float32))
        x, y, sample_weight = soft_rows(x, y, soft)

        settings = dict(params)
        weight = float(settings.pop("scale_pos_weight", 1.0))
        forest = RandomForestClassifier(class_weight={0: 1.0, 1: weight}, random_state=data.seed,
                                        n_jobs=data.threads or -1, **settings)
        forest.fit(np.asarray(x, dtype=np.float32), y, sample_weight=sample_weight)
        return FittedForest(forest=forest, reference=reference)

    def margin(self, model: FittedForest, x: np.ndarray) -> np.ndarray:
        p = np.clip(model.forest.predict_proba(np.asarray(x, dtype=np.float32)).astype(np.float64),
                    FOREST_EPS, 1 - FOREST_EPS)
        return np.log(p[:, 1]) - np.log(p[:, 0])

    def to_onnx(self, model: FittedForest, n_features: int) -> Any:
        from leadscore.trainer.onnx_graph import forest_margin_model

        trees = model.forest.estimators_
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("tree", "node", "feature", "value", "leaf", "true",
                                                               "false", "missing", "positive", "negative")}
        for index, estimator in enumerate(trees):
            tree = estimator.tree_
            leaf = tree.children_left < 0
            counts = tree.value[:, 0, :]
            total = counts.sum(axis=1)
            share = counts / np.where(total == 0, 1.0, total)[:, None] / len(trees)
            parts["tree"].append(np.full(tree.node_count, index))
            parts["node"].append(np.arange(tree.node_count))
            parts["feature"].append(np.where(leaf, 0, tree.feature))
            parts["value"].append(np.where(leaf, 0.0, float32_floor(tree.threshold)))
            parts["leaf"].append(leaf)
            parts["true"].append(np.where(leaf, 0, tree.children_left))
            parts["false"].append(np.where(leaf, 0, tree.children_right))
            parts["missing"].append(np.where(leaf, 0, tree.missing_go_to_left))
            parts["positive"].append(share[:, 1])
            parts["negative"].append(share[:, 0])
        flat = {k: np.concatenate(v) for k, v in parts.items()}
        leaf = flat["leaf"]
        nodes = {k: flat[k].tolist() for k in ("tree", "node", "feature", "value", "true", "false", "missing")}
        nodes["mode"] = np.where(leaf, "LEAF", "BRANCH_LEQ").tolist()
        leaves = {"tree": flat["tree"][leaf].tolist(), "node": flat["node"][leaf].tolist(),
                  "positive": flat["positive"][leaf].tolist(), "negative": flat["negative"][leaf].tolist()}
        return forest_margin_model(nodes, leaves, FOREST_EPS, n_features)

    def save_native(self, model: FittedForest, path: Path) -> None:
        """scikit-learn's own format is a pickle, which a server must not load: the member's ONNX
        graph, with the reference point the explainer starts from, is what is kept."""
        from leadscore.trainer.onnx_graph import save_member

        save_member(self.to_onnx(model, len(model.reference)), model.reference, path)


def _medians(x: np.ndarray) -> np.ndarray:
    """Per-column median of the non-missing values (0 for an all-missing column)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column's median is NaN
        median = np.nanmedian(np.asarray(x, dtype=np.float64), axis=0)
    return np.nan_to_num(median, nan=0.0)

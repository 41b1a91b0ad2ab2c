"""LightGBM, early-stopped on validation log loss (CPU: the pip wheel has no CUDA).

LightGBM keeps split thresholds in float64 (the midpoint of two bin values, nudged up) and
compares ``float64(x) <= t``; ONNX's tree operators hold float32 thresholds, and onnxmltools
rounds each one to the nearest float32. When two training values are one float32 step apart,
that rounding lands on the upper value and sends it left where LightGBM sends it right (one
lead moved 0.063 in log-odds). The export therefore writes each threshold as the largest
float32 not above it: for float32 inputs ``x <= t`` and ``x <= that`` agree on every value.
LightGBM also reads any input within ``ZERO_THRESHOLD`` of 0 as 0 before its trees, which the
exported thresholds account for too.
"""

from __future__ import annotations

import re
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


class LightGBMAlgorithm(Algorithm):
    name = "lightgbm"
    native_file = "lightgbm.txt"

    def default_params(self) -> dict[str, Any]:
        return {"num_leaves": 31, "learning_rate": 0.05, "min_child_samples": 20, "subsample": 0.8,
                "colsample_bytree": 0.8, "reg_lambda": 1.0, "scale_pos_weight": 1.0}

    def regularised_params(self) -> dict[str, Any]:
        return {"num_leaves": 8, "learning_rate": 0.03, "min_child_samples": 50, "subsample": 0.8,
                "colsample_bytree": 0.8, "reg_lambda": 5.0, "scale_pos_weight": 1.0}

    def search_space(self, trial: Any) -> dict[str, Any]:
        return {
            "num_leaves": trial.suggest_int("num_leaves", 2, 128, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 5, 400, log=True),
            "subsample": trial.suggest_float("subsample", 0.4, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 100.0, log=True),
            "scale_pos_weight": trial.suggest_float("scale_pos_weight", 1.0, 10.0, log=True),
        }

    def fit(self, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> Any:
        import lightgbm as lgb

        def report(env: Any) -> None:
            _, _, value, _ = env.evaluation_result_list[0]
            if stop_every(reporter, env.iteration, value):
                raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)

        model = _classifier(data, params, MAX_ROUNDS)
        x, y, weight = data.learning_rows()
        model.fit(x, y, sample_weight=weight, eval_X=(data.x_valid,), eval_y=(data.y_valid,),
                  eval_metric="binary_logloss",
                  callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False), report])
        return model

    def refit(self, data: TrainData, x: np.ndarray, y: np.ndarray, params: dict[str, Any],
              rounds: int | None, soft: np.ndarray | None = None) -> Any:
        x, y, weight = soft_rows(x, y, soft)
        return _classifier(data, params, rounds or MAX_ROUNDS).fit(x, y, sample_weight=weight)

    def margin(self, model: Any, x: np.ndarray) -> np.ndarray:
        return model.predict(x, raw_score=True).astype(np.float64)

    def to_onnx(self, model: Any, n_features: int) -> Any:
        """The kept rounds, thresholds floored to float32 (see the module docstring)."""
        import lightgbm as lgb
        from onnxmltools import convert_lightgbm
        from onnxmltools.convert.common.data_types import FloatTensorType

        from leadscore.trainer.onnx_graph import tree_margin_model

        text = model.booster_.model_to_string(num_iteration=model.best_iteration_ or None)
        return tree_margin_model(convert_lightgbm(
            lgb.Booster(model_str=float32_thresholds(text)),
            initial_types=[("features", FloatTensorType([None, n_features]))], target_opset=ONNX_OPSET, zipmap=False))

    def save_native(self, model: Any, path: Path) -> None:
        model.booster_.save_model(str(path), num_iteration=model.best_iteration_ or None)

    def iterations(self, model: Any) -> int | None:
        return int(model.best_iteration_ or model.n_estimators_)


def _classifier(data: TrainData, params: dict[str, Any], rounds: int) -> Any:
    import lightgbm as lgb

    return lgb.LGBMClassifier(n_estimators=rounds, subsample_freq=1, random_state=data.seed,
                              n_jobs=data.threads or None, verbose=-1, **params)


_CATEGORICAL = 1  # bit 0 of a node's decision_type: a categorical split (its "threshold" is an index)
_THRESHOLDS = re.compile(r"^threshold=(.*)$", re.MULTILINE)
_DECISION_TYPES = re.compile(r"^decision_type=(.*)$", re.MULTILINE)
_TREE_SIZES = re.compile(r"^tree_sizes=.*\n", re.MULTILINE)
ZERO_THRESHOLD = float(np.float32(1e-35))
"""LightGBM's kZeroThreshold (a float32): an input with ``|x| <= ZERO_THRESHOLD`` is read as 0."""


def float32_floor(values: np.ndarray) -> np.ndarray:
    """The largest float32 not above each float64 value (as float64): for every float32 ``x``,
    ``x <= t`` exactly when ``x <= float32_floor(t)``."""
    t = np.asarray(values, dtype=np.float64)
    with np.errstate(over="ignore"):
        nearest = t.astype(np.float32)
    above = nearest.astype(np.float64) > t
    nearest[above] = np.nextafter(nearest[above], np.float32(-np.inf))
    return nearest.astype(np.float64)


def float32_split_values(thresholds: np.ndarray) -> np.ndarray:
    """For each LightGBM threshold ``t``, the float32 ``f`` (as float64) such that every float32
    ``x`` has ``x <= f`` exactly when LightGBM sends it left: ``zeroed(x) <= t``."""
    t = np.asarray(thresholds, dtype=np.float64)
    below_negative_zero = float(np.nextafter(np.float32(-ZERO_THRESHOLD), np.float32(-np.inf)))
    t = np.where((t >= -ZERO_THRESHOLD) & (t < 0), below_negative_zero, t)  # left iff x < -ZERO_THRESHOLD
    t = np.where((t >= 0) & (t < ZERO_THRESHOLD), ZERO_THRESHOLD, t)  # left iff x <= ZERO_THRESHOLD
    return float32_floor(t)


def _floor_tree(tree: str) -> str:
    """One ``Tree=`` block of the model text with its numeric thresholds as ``float32_split_values``."""
    thresholds, types = _THRESHOLDS.search(tree), _DECISION_TYPES.search(tree)
    if thresholds is None or types is None:  # a single-leaf tree has no splits
        return tree
    raw = thresholds[1].split()
    numeric = (np.array(types[1].split(), dtype=np.int64) & _CATEGORICAL) == 0
    values = float32_split_values(np.array([r if n else "0" for r, n in zip(raw, numeric, strict=True)], dtype=float))
    line = " ".join(repr(float(v)) if n else r for r, n, v in zip(raw, numeric, values, strict=True))
    return tree[: thresholds.start(1)] + line + tree[thresholds.end(1):]


def float32_thresholds(model_text: str) -> str:
    """A LightGBM model text with every numeric threshold replaced by its ``float32_split_values``.

    Its decisions, and so its scores, are unchanged for float32 inputs (what the trainer and
    the predictor feed it), and its thresholds survive the ONNX export's float32 cast exactly.
    """
    # Thresholds change length, so tree_sizes' byte offsets go; LightGBM then reads trees in order.
    blocks = re.split(r"^(?=Tree=)", _TREE_SIZES.sub("", model_text), flags=re.MULTILINE)
    return "".join(_floor_tree(b) if b.startswith("Tree=") else b for b in blocks)

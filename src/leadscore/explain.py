"""Per-lead contributions from the native boosters kept beside the ONNX model (shared: the
predictor's ``:explain`` uses it per lead, the trainer for the card's global importance).

Unit: log-odds of the *uncalibrated* model score. The shipped model computes
``p = calibrator(sum_i w_i * logit(p_i))`` over its members; each member's log-odds splits
exactly into per-feature terms (TreeSHAP for the boosters: XGBoost's and LightGBM's
``pred_contrib(s)``, CatBoost's ``ShapValues``; ``coef_j * standardized x_j`` for the
logistic baseline; an order-dependent path attribution from the training medians for the
random forest and the MLP, see ``_path_attribution``), so the weighted sum splits the ensemble's score the same way. The
calibrator is a monotone map applied afterwards: it keeps the order and sign of every
factor but is not additive, so contributions are reported before it, with ``base_value``
(the expected log-odds) and the sum of terms equal to the lead's score on that scale.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from leadscore.api.artifact import CARD_FILE, INPUT_TENSOR, MEMBER_REFERENCE, LinearParameters, ServingCard
from leadscore.errors import StorageError

UNIT = "log-odds (uncalibrated model score)"
ATTRIBUTION_ROWS = 256
"""Leads per onnxruntime call of the path attribution."""

Contributions = Callable[[np.ndarray], np.ndarray]
"""float32 features [N, F] -> [N, F + 1]: per-feature terms, then the bias (expected value)."""


def _lightgbm(path: Path) -> Contributions:
    import lightgbm

    booster = lightgbm.Booster(model_file=str(path))
    return lambda x: np.asarray(booster.predict(x, pred_contrib=True), dtype=np.float64)


def _xgboost(path: Path) -> Contributions:
    import xgboost

    booster = xgboost.Booster(model_file=str(path))
    booster.set_param({"nthread": 1})
    return lambda x: np.asarray(
        booster.predict(xgboost.DMatrix(x, missing=np.nan), pred_contribs=True), dtype=np.float64
    )


def _catboost(path: Path) -> Contributions:
    import catboost

    model = catboost.CatBoost()
    model.load_model(str(path), format="cbm")
    return lambda x: np.asarray(
        model.get_feature_importance(catboost.Pool(x), type="ShapValues", thread_count=1), dtype=np.float64
    )


def _logistic(path: Path) -> Contributions:
    """Exact: ``coef_j * (impute(x_j) - mean_j) / std_j`` per feature, the intercept as bias."""
    params = LinearParameters.model_validate_json(path.read_text())
    median, mean, std, coef = (np.asarray(v, dtype=np.float64)
                               for v in (params.impute_median, params.scale_mean, params.scale_std, params.coef))
    intercept = params.intercept

    def contributions(x: np.ndarray) -> np.ndarray:
        filled = np.where(np.isnan(x), median, x.astype(np.float64))
        terms = coef * (filled - mean) / np.where(std == 0, 1.0, std)
        return np.column_stack([terms, np.full(len(x), intercept)])

    return contributions


def _path_attribution(path: Path) -> Contributions:
    """For members kept as their own ONNX graph (random forest, MLP), which have no exact TreeSHAP
    or linear split: starting from the training medians (the bias), feature j's term is the
    margin change when x_j replaces the median with features 0..j-1 already replaced. The terms
    sum exactly to the lead's margin, but they depend on the feature order (not Shapley values);
    F + 1 margin evaluations per lead."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    if MEMBER_REFERENCE not in props:
        raise StorageError(f"{path}: no {MEMBER_REFERENCE!r} metadata, cannot explain")
    reference = np.asarray(json.loads(props[MEMBER_REFERENCE]), dtype=np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), sess_options=options,
                                   providers=["CPUExecutionProvider"])
    output = session.get_outputs()[0].name

    def contributions(x: np.ndarray) -> np.ndarray:
        if len(x) > ATTRIBUTION_ROWS:  # the path matrix is [rows, F + 1, F]: bounded per call
            return np.concatenate([contributions(x[i:i + ATTRIBUTION_ROWS])
                                   for i in range(0, len(x), ATTRIBUTION_ROWS)])
        n, f = x.shape
        steps = np.repeat(reference[None, None, :], f + 1, axis=1).repeat(n, axis=0)  # [N, F+1, F]
        for j in range(f):
            steps[:, j + 1:, j] = x[:, None, j]
        flat = np.ascontiguousarray(steps.reshape(n * (f + 1), f), dtype=np.float32)
        margins = np.asarray(session.run([output], {INPUT_TENSOR: flat})[0], dtype=np.float64).reshape(n, f + 1)
        return np.column_stack([np.diff(margins, axis=1), margins[:, 0]])

    return contributions


LOADERS: dict[str, Callable[[Path], Contributions]] = {
    "lightgbm": _lightgbm,
    "xgboost": _xgboost,
    "catboost": _catboost,
    "lr": _logistic,
    "randomforest": _path_attribution,
    "mlp": _path_attribution,
}


@dataclass(frozen=True)
class Member:
    """One shipped model as the card lists it: algorithm, ensemble weight, native file."""

    algorithm: str
    weight: float
    path: Path


def members_from_card(card: ServingCard, directory: Path) -> list[Member]:
    """``members`` of ``model_card.json`` (``native_file`` is relative to the artifact directory)."""
    if not card.members:
        raise StorageError(f"{directory / CARD_FILE}: no members listed, nothing to explain")
    return [Member(m.algorithm, m.weight, directory / m.native_file) for m in card.members]


@dataclass(frozen=True)
class Explanation:
    """Terms [N, F] on the log-odds scale and the bias [N]; ``terms.sum(1) + base`` is the score."""

    terms: np.ndarray
    base: np.ndarray


class Explainer:
    """The shipped members' native models, combined by their ensemble weights."""

    def __init__(self, members: list[Member]) -> None:
        self._members: list[tuple[float, Contributions]] = []
        for member in members:
            if member.algorithm not in LOADERS:
                raise StorageError(f"cannot explain member {member.algorithm!r}; known: {sorted(LOADERS)}")
            if not member.path.is_file():
                raise StorageError(f"explanations need {member.path}, which the artifact lacks")
            self._members.append((member.weight, LOADERS[member.algorithm](member.path)))

    def explain(self, x: np.ndarray) -> Explanation:
        total = np.add.reduce([weight * contributions(x) for weight, contributions in self._members])
        return Explanation(terms=total[:, :-1], base=total[:, -1])


def global_importance(explainer: Explainer, x: np.ndarray, names: list[str], origins: Mapping[str, str],
                      top: int = 20) -> list[dict[str, Any]]:
    """The ``top`` features by mean absolute contribution over the rows of ``x`` (same unit as
    the per-lead terms), largest first, each with the raw field it is computed from."""
    mean_abs = np.abs(explainer.explain(x).terms).mean(axis=0)
    order = np.argsort(-mean_abs, kind="stable")[:top]
    return [{"feature": names[j], "field": origins.get(names[j], names[j]),
             "mean_abs_contribution": round(float(mean_abs[j]), 6)} for j in order]

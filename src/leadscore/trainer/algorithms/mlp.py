"""A small neural network (scikit-learn's MLPClassifier), seed 003: 64-32-16 ReLU layers on
median-imputed, standardised inputs.

Trained one epoch at a time (``partial_fit``) so it early-stops on the validation log loss and
reports to the pruner like the boosters; the epoch count kept is what the final refit runs
(unscaled: an epoch over more rows already takes proportionally more steps).
Everything is float64, and the ONNX graph computes the same layers in float64, so the margin
(the output layer before its sigmoid) matches to ~1e-12. Class imbalance enters as sample
weights (``scale_pos_weight`` on positives), which the search tunes.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from leadscore.trainer.algorithms.base import Algorithm, Reporter, TrainData, soft_rows, stop_every
from leadscore.trainer.metrics import logloss

MAX_EPOCHS = 200
PATIENCE = 10
"""Epochs without a better validation log loss before training stops."""


@dataclass(frozen=True)
class FittedMLP:
    """Imputation medians, scaler and network (the medians are the explainer's reference too)."""

    median: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    network: Any  # sklearn.neural_network.MLPClassifier
    epochs: int

    def prepare(self, x: np.ndarray) -> np.ndarray:
        filled = np.asarray(x, dtype=np.float64)
        filled = np.where(np.isnan(filled), self.median, filled)
        return (filled - self.mean) / self.scale


class MLPAlgorithm(Algorithm):
    name = "mlp"
    native_file = "mlp.onnx"
    rounds_scale_with_rows = False  # an epoch over more rows already takes more Adam steps

    def default_params(self) -> dict[str, Any]:
        return {"width": 64, "layers": 3, "alpha": 1e-4, "learning_rate_init": 1e-3, "batch_size": 256,
                "scale_pos_weight": 1.0}

    def regularised_params(self) -> dict[str, Any]:
        return {"width": 32, "layers": 2, "alpha": 1e-2, "learning_rate_init": 1e-3, "batch_size": 256,
                "scale_pos_weight": 1.0}

    def search_space(self, trial: Any) -> dict[str, Any]:
        return {
            "width": trial.suggest_int("width", 16, 128, log=True),
            "layers": trial.suggest_int("layers", 1, 3),
            "alpha": trial.suggest_float("alpha", 1e-6, 1e-1, log=True),
            "learning_rate_init": trial.suggest_float("learning_rate_init", 1e-4, 1e-2, log=True),
            "batch_size": trial.suggest_int("batch_size", 64, 1024, log=True),
            "scale_pos_weight": trial.suggest_float("scale_pos_weight", 1.0, 10.0, log=True),
        }

    def fit(self, data: TrainData, params: dict[str, Any], reporter: Reporter | None) -> FittedMLP:
        """Epochs until the validation log loss has not improved for ``PATIENCE``; the best kept."""
        model = _start(data.x_train, data.seed, params)
        rows, labels, soft_weight = data.learning_rows()
        x, weights = model.prepare(rows), _weights(labels, params, soft_weight)
        x_valid = model.prepare(data.x_valid)
        best, best_loss, since = model, np.inf, 0
        for epoch in range(1, MAX_EPOCHS + 1):
            _epoch(model.network, x, labels, weights)
            value = logloss(data.y_valid, model.network.predict_proba(x_valid)[:, 1])
            if value < best_loss - 1e-6:
                best = replace(model, network=copy.deepcopy(model.network), epochs=epoch)
                best_loss, since = value, 0
            else:
                since += 1
            if since >= PATIENCE or stop_every(reporter, epoch, value):
                break
        return best

    def refit(self, data: TrainData, x: np.ndarray, y: np.ndarray, params: dict[str, Any],
              rounds: int | None, soft: np.ndarray | None = None) -> FittedMLP:
        model = _start(x, data.seed, params)
        x, y, soft_weight = soft_rows(x, y, soft)
        prepared, weights = model.prepare(x), _weights(y, params, soft_weight)
        epochs = rounds or MAX_EPOCHS
        for _ in range(epochs):
            _epoch(model.network, prepared, y, weights)
        return replace(model, epochs=epochs)

    def margin(self, model: FittedMLP, x: np.ndarray) -> np.ndarray:
        h = model.prepare(x)
        network = model.network
        for index, (w, b) in enumerate(zip(network.coefs_, network.intercepts_, strict=True)):
            h = h @ w + b
            if index < len(network.coefs_) - 1:
                h = np.maximum(h, 0.0)
        return h[:, 0]

    def to_onnx(self, model: FittedMLP, n_features: int) -> Any:
        from leadscore.trainer.onnx_graph import mlp_margin_model

        return mlp_margin_model(model.median, model.mean, model.scale, model.network.coefs_,
                                model.network.intercepts_, n_features)

    def save_native(self, model: FittedMLP, path: Path) -> None:
        """The member's float64 ONNX graph (scikit-learn's own format is a pickle, which a server
        must not load), with the training medians as the explainer's reference point."""
        from leadscore.trainer.onnx_graph import save_member

        save_member(self.to_onnx(model, len(model.median)), model.median, path)

    def iterations(self, model: FittedMLP) -> int | None:
        return model.epochs


def _layers(params: dict[str, Any]) -> tuple[int, ...]:
    """``width`` halving per layer: 64, 3 -> (64, 32, 16)."""
    return tuple(max(2, int(params["width"]) // 2**i) for i in range(int(params["layers"])))


def _start(x: np.ndarray, seed: int, params: dict[str, Any]) -> FittedMLP:
    """An untrained network with its input preparation fitted on ``x``."""
    from sklearn.neural_network import MLPClassifier

    x = np.asarray(x, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column
        median = np.nan_to_num(np.nanmedian(x, axis=0), nan=0.0)
    filled = np.where(np.isnan(x), median, x)
    mean, std = filled.mean(axis=0), filled.std(axis=0)
    network = MLPClassifier(hidden_layer_sizes=_layers(params), alpha=float(params["alpha"]),
                            learning_rate_init=float(params["learning_rate_init"]),
                            batch_size=max(1, min(int(params["batch_size"]), len(x))), random_state=seed,
                            shuffle=True)
    return FittedMLP(median=median, mean=mean, scale=np.where(std > 0, std, 1.0), network=network, epochs=0)


def _weights(y: np.ndarray, params: dict[str, Any], soft_weight: np.ndarray | None = None) -> np.ndarray:
    """The positive class's weight times, on graded targets, each row's ``soft_rows`` weight."""
    weights = np.where(np.asarray(y) == 1, float(params.get("scale_pos_weight", 1.0)), 1.0)
    return weights if soft_weight is None else weights * soft_weight


def _epoch(network: Any, x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> None:
    network.partial_fit(x, y, sample_weight=weights, classes=np.array([0, 1]))

"""The held-out evaluation as pictures for the MLflow run: ROC, calibration (reliability) and lift.

Pure functions from the test labels and the shipped model's test probabilities to matplotlib
figures (no pyplot, so no display is needed in a Job); the tracker logs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ROC_FILE, CALIBRATION_FILE, LIFT_FILE = "figures/roc.png", "figures/calibration.png", "figures/lift.png"


def _figure(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 4), dpi=100)
    axes = figure.add_subplot()
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(alpha=0.3)
    return figure, axes


def roc(y: np.ndarray, p: np.ndarray) -> Figure:
    from sklearn.metrics import roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    figure, axes = _figure("ROC (held-out test rows)", "false positive rate", "true positive rate")
    axes.plot(fpr, tpr, label=f"model, AUC {roc_auc_score(y, p):.3f}")
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance")
    axes.legend(loc="lower right")
    return figure


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> Figure:
    """Mean predicted probability against the observed conversion rate, per decile of the score."""
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(y, p, n_bins=bins, strategy="quantile")
    figure, axes = _figure("calibration (deciles of the score)", "mean predicted probability",
                           "observed conversion rate")
    top = float(max(predicted.max(initial=0.0), observed.max(initial=0.0), 0.05))
    axes.plot([0, top], [0, top], linestyle="--", color="grey", label="perfect")
    axes.plot(predicted, observed, marker="o", label="model")
    axes.legend(loc="upper left")
    return figure


def lift(y: np.ndarray, p: np.ndarray, bins: int = 10) -> Figure:
    """Conversion rate of each tenth of the leads, best-scored first, over the overall rate."""
    order = np.argsort(-p, kind="stable")
    groups = np.array_split(np.asarray(y, dtype=float)[order], bins)
    base = float(np.mean(y)) or 1.0
    lifts = [float(g.mean()) / base if len(g) else 0.0 for g in groups]
    figure, axes = _figure("lift by score decile", "decile (1 = highest scores)", "lift over the average lead")
    axes.bar(range(1, bins + 1), lifts)
    axes.axhline(1.0, linestyle="--", color="grey")
    return figure


def evaluation_figures(y: np.ndarray, p: np.ndarray) -> dict[str, Figure]:
    """Artifact path -> figure, for the tracker."""
    return {ROC_FILE: roc(y, p), CALIBRATION_FILE: calibration(y, p), LIFT_FILE: lift(y, p)}

"""Held-out evaluation of calibrated probabilities: discrimination, calibration, business view.

Pure functions over (labels, probabilities). The business view is what a sales team asks:
"if we call the top 10% first, how many more conversions per call than at random (lift),
and what share of all conversions do we reach (capture)?"
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

PROBABILITY_EPS = 1e-7
RELIABILITY_BINS = 10


class ReliabilityBin(BaseModel):
    """One equal-width bin of predicted probability."""

    lower: float
    upper: float
    count: int
    mean_predicted: float | None = Field(None, description="None when the bin is empty.")
    observed_rate: float | None = None


class Metrics(BaseModel):
    """Everything measured on one labelled set."""

    rows: int
    positive_rate: float
    roc_auc: float
    pr_auc: float
    log_loss: float
    brier: float
    threshold: float
    accuracy: float
    precision: float
    recall: float
    f1: float
    lift_at_10: float
    capture_at_10: float
    lift_at_20: float
    capture_at_20: float
    reliability: list[ReliabilityBin]

    def headline(self) -> dict[str, float]:
        """The scalar metrics (what MLflow and the termination message carry)."""
        return {k: v for k, v in self.model_dump(exclude={"reliability"}).items() if isinstance(v, int | float)}


def clip(p: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(p, dtype=np.float64), PROBABILITY_EPS, 1.0 - PROBABILITY_EPS)


def logloss(y: np.ndarray, p: np.ndarray) -> float:
    return float(log_loss(y, clip(p), labels=[0, 1]))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    return float(brier_score_loss(y, np.asarray(p, dtype=np.float64)))


def best_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The probability cut-off with the highest F1 (chosen on validation, applied to test)."""
    order = np.argsort(-p, kind="stable")
    sorted_p, sorted_y = p[order], y[order]
    true_pos = np.cumsum(sorted_y)
    predicted = np.arange(1, len(p) + 1)
    f1 = 2 * true_pos / (predicted + sorted_y.sum())
    # Only cut between distinct probabilities: a threshold cannot split tied rows.
    last_of_tie = np.append(sorted_p[1:] != sorted_p[:-1], True)
    best = int(np.argmax(np.where(last_of_tie, f1, -1.0)))
    return float(sorted_p[best])


def lift_and_capture(y: np.ndarray, p: np.ndarray, top: float) -> tuple[float, float]:
    """Conversion rate in the top ``top`` share over the overall rate, and the share of
    positives found there."""
    k = max(1, int(np.ceil(len(p) * top)))
    chosen = np.argsort(-p, kind="stable")[:k]
    positives = y.sum()
    if positives == 0:
        return 0.0, 0.0
    found = y[chosen].sum()
    return float((found / k) / (positives / len(y))), float(found / positives)


def reliability_curve(y: np.ndarray, p: np.ndarray, bins: int = RELIABILITY_BINS) -> list[ReliabilityBin]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        count = int(mask.sum())
        out.append(ReliabilityBin(
            lower=float(edges[b]), upper=float(edges[b + 1]), count=count,
            mean_predicted=float(p[mask].mean()) if count else None,
            observed_rate=float(y[mask].mean()) if count else None,
        ))
    return out


def evaluate(y: np.ndarray, p: np.ndarray, threshold: float) -> Metrics:
    """All held-out metrics at ``threshold`` (chosen beforehand on validation)."""
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(p, dtype=np.float64)
    predicted = p >= threshold
    tp = float((predicted & (y == 1)).sum())
    precision = tp / predicted.sum() if predicted.any() else 0.0
    recall = tp / y.sum() if y.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    lift10, capture10 = lift_and_capture(y, p, 0.10)
    lift20, capture20 = lift_and_capture(y, p, 0.20)
    return Metrics(
        rows=len(y),
        positive_rate=float(y.mean()),
        roc_auc=float(roc_auc_score(y, p)),
        pr_auc=float(average_precision_score(y, p)),
        log_loss=logloss(y, p),
        brier=brier(y, p),
        threshold=float(threshold),
        accuracy=float((predicted == (y == 1)).mean()),
        precision=float(precision),
        recall=float(recall),
        f1=float(f1),
        lift_at_10=lift10,
        capture_at_10=capture10,
        lift_at_20=lift20,
        capture_at_20=capture20,
        reliability=reliability_curve(y, p),
    )

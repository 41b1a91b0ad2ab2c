"""Leakage guard: refuse columns that give the answer away.

A column that on its own separates converters from the rest almost perfectly (holdout
ROC-AUC >= ``leak_threshold``) was almost always filled in after the outcome (a sales tag,
a call's duration); so is any column the user declares ``post_outcome``. Either is refused
unless ``allow_leaky``, in which case the findings become warnings the model card records.

Each column gets a tiny model of its own: its training-split conversion rate per level
(numbers are cut at training quantiles; missing is its own level; unseen levels get the
prior), scored on a stratified holdout. It is a group-by per column, so 41k rows x 20
columns take about a second, and it works the same for numbers, categories and flags.
Columns between ``SUSPECT_AUC`` and the threshold are reported as suspects (never refused).
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from scipy.stats import rankdata

from leadscore.data.schema import DatasetSchema, DatasetSpec
from leadscore.errors import LeakageError

SUSPECT_AUC = 0.8
HOLDOUT_SHARE = 0.3
_QUANTILE_BINS = 32
_SMOOTHING = 1.0


class LeakFinding(BaseModel):
    """One column the guard objects to (refused) or wants a human to look at (suspect)."""

    column: str
    auc: float | None = Field(None, description="Holdout ROC-AUC of the column alone.")
    reason: Literal["auc", "post_outcome", "suspect"]
    refused: bool = Field(description="True when training stops unless allow_leaky.")

    def describe(self) -> str:
        auc = f" (ROC-AUC {self.auc:.3f} alone)" if self.auc is not None else ""
        why = {"auc": "predicts the target almost perfectly", "post_outcome": "is declared post-outcome",
               "suspect": "is suspiciously predictive"}[self.reason]
        return f"{self.column} {why}{auc}"


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney ROC-AUC with ties counted half."""
    positives = labels == 1
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def stratified_holdout(labels: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Boolean mask of holdout rows, ``share`` of each class, reproducible by ``seed``."""
    rng = np.random.default_rng(seed)
    holdout = np.zeros(len(labels), dtype=bool)
    for cls in (0, 1):
        rows = np.flatnonzero(labels == cls)
        holdout[rng.permutation(rows)[: round(share * len(rows))]] = True
    return holdout


def _codes(series: pd.Series, train: np.ndarray) -> np.ndarray:
    """Each row's level as a small int, 0 = missing: training-quantile bins for numbers, values otherwise."""
    if pd.api.types.is_datetime64_any_dtype(series):
        stamps = series.to_numpy(dtype="datetime64[ns]")
        series = pd.Series(np.where(np.isnat(stamps), np.nan, stamps.astype(np.int64)), index=series.index)
    if pd.api.types.is_numeric_dtype(series) and series.nunique() > _QUANTILE_BINS:
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        edges = np.unique(np.nanquantile(values[train], np.linspace(0, 1, _QUANTILE_BINS + 1))[1:-1])
        return np.where(np.isnan(values), 0, np.searchsorted(edges, values, side="right") + 1)
    codes, _ = pd.factorize(series, use_na_sentinel=True)
    return codes + 1


def column_auc(series: pd.Series, labels: np.ndarray, holdout: np.ndarray) -> float:
    """Holdout ROC-AUC of the column's smoothed training-split conversion rate per level.

    Levels never seen in training (count 0) fall back to the prior by the smoothing itself.
    """
    train = ~holdout
    codes = _codes(series, train)
    size = int(codes.max()) + 1
    prior = labels[train].mean()
    positives = np.bincount(codes[train], weights=labels[train], minlength=size)
    counts = np.bincount(codes[train], minlength=size)
    rate = (positives + _SMOOTHING * prior) / (counts + _SMOOTHING)
    return roc_auc(labels[holdout], rate[codes[holdout]])


def check_leakage(
    df: pd.DataFrame, schema: DatasetSchema, spec: DatasetSpec, *, seed: int = 0
) -> list[LeakFinding]:
    """Findings for every refused or suspect column, most predictive first.

    Raises ``LeakageError`` naming the refused columns and their AUCs unless
    ``spec.allow_leaky``; then each refused finding is also issued as a ``UserWarning``.
    ``df`` is the table ``validate`` returned (target already 0/1).
    """
    labels = df[schema.target].to_numpy(dtype=np.int64)
    holdout = stratified_holdout(labels, HOLDOUT_SHARE, seed)
    findings: list[LeakFinding] = []
    for column in schema.columns:
        if column.role in ("id", "target", "excluded") or column.name not in df.columns:
            continue
        auc = column_auc(df[column.name], labels, holdout)
        if column.post_outcome:
            findings.append(LeakFinding(column=column.name, auc=auc, reason="post_outcome", refused=True))
        elif auc >= spec.leak_threshold:
            findings.append(LeakFinding(column=column.name, auc=auc, reason="auc", refused=True))
        elif auc >= SUSPECT_AUC:
            findings.append(LeakFinding(column=column.name, auc=auc, reason="suspect", refused=False))
    findings.sort(key=lambda f: (not f.refused, -(f.auc or 0.0)))
    refused = [f for f in findings if f.refused]
    if refused and not spec.allow_leaky:
        listed = "; ".join(f.describe() for f in refused)
        raise LeakageError(
            f"leaky columns refused: {listed}; exclude them, or pass --allow-leaky to keep them"
        )
    for finding in refused:
        warnings.warn(f"kept leaky column: {finding.describe()}", UserWarning, stacklevel=2)
    return findings

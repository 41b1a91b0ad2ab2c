"""Graded training targets: a lead's feedback mapped to a score in [0, 1] (seed 001).

The trainer learns from these soft labels only when the model asks for it (``spec.dataset.
targets``, ``--targets``); the binary target column stays the truth that calibration, model
selection and every reported metric use. A data set gives its graded targets either directly
(a ``target_score`` column) or as the collector export's ``feedback.*`` columns, which
``leadscore.api.feedback.target_score`` maps with the model's ``TargetsSpec``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from leadscore.api.feedback import (
    FEEDBACK_PREFIX,
    SIGNAL_COLUMNS,
    TARGET_SCORE_COLUMN,
    LeadSignals,
    TargetsSpec,
    target_score,
)
from leadscore.errors import DatasetError


def _value(raw: Any) -> Any:
    return None if raw is None or (isinstance(raw, float) and math.isnan(raw)) else raw


def _signals(row: dict[str, Any]) -> LeadSignals:
    values = {field: _value(row.get(column)) for field, column in SIGNAL_COLUMNS.items()}
    flags = ("converted", "contacted", "contact_successful")
    return LeadSignals(**{field: bool(value) if field in flags else value
                          for field, value in values.items() if value is not None and field != "events"})


def soft_labels(frame: pd.DataFrame, y: np.ndarray, targets: TargetsSpec) -> np.ndarray:
    """One target in [0, 1] per row of ``frame`` (``y``: its binary outcome). A converted row's
    target is ``targets.conversion``; the others' come from ``target_score`` (0 where it is
    missing) or from the ``feedback.*`` columns. Neither present: a ``DatasetError``."""
    if TARGET_SCORE_COLUMN in frame:
        given = pd.to_numeric(frame[TARGET_SCORE_COLUMN], errors="coerce").to_numpy(dtype=np.float64)
        outside = np.isfinite(given) & ((given < 0) | (given > 1))
        if outside.any():
            raise DatasetError(f"column {TARGET_SCORE_COLUMN}: {int(outside.sum())} values outside [0, 1] "
                               f"(e.g. {given[outside][0]:g})")
        return np.where(y == 1, targets.conversion, np.nan_to_num(given, nan=0.0))
    present = [c for c in SIGNAL_COLUMNS.values() if c in frame]
    if not present:
        raise DatasetError(f"targets: set, but the data set has neither a {TARGET_SCORE_COLUMN} column nor "
                           f"{FEEDBACK_PREFIX}* columns (leadscore collector export writes them when leads have "
                           "feedback); unset targets to learn from the binary outcome only")
    records = frame[present].to_dict(orient="records")
    return np.array([target_score(_signals(record), bool(label), targets)
                     for record, label in zip(records, y, strict=True)], dtype=np.float64)

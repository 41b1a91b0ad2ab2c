"""One train / validation / test split per training, made before anything is fitted.

With a time column the split is chronological (train on the past, validate on the next
slice, test on the most recent leads), because that is how the model is used: a model
scores leads created after it was trained, and a random split would let it peek at the
future drift. Without a time column the split is stratified on the label so the rare
positives are shared evenly. Both are deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn.model_selection import train_test_split

from leadscore.api.leadscoringmodel import TEST_FRACTION
from leadscore.api.leadscoringmodel import VALIDATION_FRACTION as VALID_FRACTION
from leadscore.errors import DatasetError

# Each part needs enough positives to compute a ROC-AUC and fit a calibrator.
MIN_POSITIVES_PER_PART = 5


@dataclass(frozen=True)
class Split:
    """Row positions of each part (into the loaded frame) and how they were drawn."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    strategy: Literal["time", "stratified"]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def split_rows(
    y: np.ndarray,
    times: np.ndarray | None,
    seed: int,
    valid_fraction: float = VALID_FRACTION,
    test_fraction: float = TEST_FRACTION,
) -> Split:
    """Split rows by time when ``times`` (float seconds, NaN = unknown) is given, else stratified.

    Rows without a timestamp are treated as the oldest: they can train but never stand in
    for "the future" in validation or test.
    """
    n = len(y)
    n_test = round(n * test_fraction)
    n_valid = round(n * valid_fraction)
    if times is not None:
        order = np.argsort(np.nan_to_num(times, nan=-np.inf), kind="stable")
        split = Split(
            train=np.sort(order[: n - n_valid - n_test]),
            valid=np.sort(order[n - n_valid - n_test : n - n_test]),
            test=np.sort(order[n - n_test :]),
            strategy="time",
        )
    else:
        rows = np.arange(n)
        rest, test = train_test_split(rows, test_size=n_test, stratify=y, random_state=seed)
        train, valid = train_test_split(rest, test_size=n_valid, stratify=y[rest], random_state=seed + 1)
        split = Split(np.sort(train), np.sort(valid), np.sort(test), strategy="stratified")
    _check_parts(y, split)
    return split


def _check_parts(y: np.ndarray, split: Split) -> None:
    for name, rows in (("train", split.train), ("validation", split.valid), ("test", split.test)):
        positives = int(y[rows].sum())
        negatives = len(rows) - positives
        if min(positives, negatives) < MIN_POSITIVES_PER_PART:
            raise DatasetError(
                f"{split.strategy} split: the {name} part has {positives} positive and {negatives} "
                f"negative rows; each part needs at least {MIN_POSITIVES_PER_PART} of both "
                "(more rows, or a time column whose recent leads have outcomes)"
            )

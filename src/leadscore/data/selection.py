"""Which leads of a dataset a batch re-scoring takes: a time window on the dataset's time column
and equality filters such as the vertical (``leadscore score --since/--from/--to/--vertical``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from leadscore.errors import DatasetError


@dataclass(frozen=True)
class RowSelection:
    """Rows with ``start <= time < end`` (either bound optional) and every ``equals`` column equal
    to its value (compared as text). Empty: every row."""

    time_column: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    equals: dict[str, str] = field(default_factory=dict)

    def is_everything(self) -> bool:
        return self.start is None and self.end is None and not self.equals


def select_rows(frame: pd.DataFrame, selection: RowSelection, uri: str) -> pd.DataFrame:
    """The rows ``selection`` keeps, in their order; a missing column or a time column that holds
    no time is a ``DatasetError`` naming it. Times without a zone are read as UTC; rows whose
    time does not parse are outside every window."""
    keep = pd.Series(True, index=frame.index)
    if selection.start is not None or selection.end is not None:
        column = selection.time_column
        if not column:
            raise DatasetError("a time window (--since, --from, --to) needs --time-column, the dataset's time column")
        times = pd.to_datetime(_column(frame, column, uri), utc=True, errors="coerce", format="mixed")
        if len(frame) and times.isna().all():
            raise DatasetError(f"dataset {uri}: time column {column!r} holds no parseable time")
        if selection.start is not None:
            keep &= times >= pd.Timestamp(selection.start)
        if selection.end is not None:
            keep &= times < pd.Timestamp(selection.end)
    for column, value in selection.equals.items():
        keep &= _column(frame, column, uri).astype(str) == value
    return frame.loc[keep].reset_index(drop=True)


def _column(frame: pd.DataFrame, column: str, uri: str) -> pd.Series:
    if column not in frame.columns:
        shown = ", ".join(map(str, frame.columns[:12]))
        raise DatasetError(f"dataset {uri}: column {column!r} is not in the dataset (columns: {shown})")
    return frame[column]

"""Which rows a re-scoring takes: the time window and the vertical filter."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from leadscore.data.selection import RowSelection, select_rows
from leadscore.errors import DatasetError

FRAME = pd.DataFrame({
    "created_at": ["2026-01-01T00:00:00", "2026-01-05T23:30:00-02:00", "not a time", None, "2026-01-06"],
    "vertical": ["pc", "pc", "pc", "pc", "health"],
    "lead_id": ["a", "b", "c", "d", "e"],
})
JAN = [datetime(2026, 1, d, tzinfo=UTC) for d in range(1, 8)]


def test_the_window_includes_its_start_excludes_its_end_and_reads_zoneless_times_as_utc() -> None:
    kept = select_rows(FRAME, RowSelection("created_at", start=JAN[0], end=JAN[5]), "x")
    assert list(kept["lead_id"]) == ["a"]  # a is at the start; b, with its zone, is 2026-01-06T01:30Z
    kept = select_rows(FRAME, RowSelection("created_at", start=JAN[5]), "x")
    assert list(kept["lead_id"]) == ["b", "e"]  # e is exactly at the start


def test_rows_whose_time_does_not_parse_are_outside_every_window_but_kept_without_one() -> None:
    assert list(select_rows(FRAME, RowSelection("created_at", start=JAN[0]), "x")["lead_id"]) == ["a", "b", "e"]
    assert len(select_rows(FRAME, RowSelection(), "x")) == len(FRAME)


def test_the_vertical_filter_compares_text() -> None:
    kept = select_rows(FRAME, RowSelection(equals={"vertical": "health"}), "x")
    assert list(kept["lead_id"]) == ["e"] and list(kept.index) == [0]


@pytest.mark.parametrize(("selection", "message"), [
    (RowSelection(start=JAN[0]), "needs --time-column"),
    (RowSelection("created", start=JAN[0]), "column 'created' is not in the dataset"),
    (RowSelection("vertical", end=JAN[0]), "time column 'vertical' holds no parseable time"),
    (RowSelection(equals={"line": "pc"}), "column 'line' is not in the dataset"),
])
def test_a_selection_the_dataset_cannot_answer_is_refused_naming_the_column(selection: RowSelection,
                                                                            message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        select_rows(FRAME, selection, "s3://leads/x.parquet")

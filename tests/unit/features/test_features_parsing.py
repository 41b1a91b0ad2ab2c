"""Raw value -> canonical value: the element-wise rules and the vectorised fast paths agree."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from leadscore.features import parsing


@pytest.mark.parametrize(("value", "expected"), [
    (3, 3.0), (2.5, 2.5), (" 7 ", 7.0), (True, 1.0), (np.int64(4), 4.0), (np.float32(1.5), 1.5),
])
def test_to_number_parses_numbers_and_numeric_strings(value: object, expected: float) -> None:
    assert parsing.to_number(value) == expected


@pytest.mark.parametrize("value", [None, "", "abc", math.inf, -math.inf, math.nan, [1], pd.NA])
def test_to_number_gives_nan_when_missing_odd_or_infinite(value: object) -> None:
    assert math.isnan(parsing.to_number(value))


@pytest.mark.parametrize(("value", "expected"), [
    (None, parsing.MISSING), ("", parsing.MISSING), ("  ", parsing.MISSING), (math.nan, parsing.MISSING),
    (" web ", "web"), (3, "3"), (3.0, "3"), ("3", "3"), (2.5, "2.5"), (True, "true"), (np.int32(8), "8"),
])
def test_to_category_canonicalises_levels(value: object, expected: str) -> None:
    assert parsing.to_category(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("1970-01-02T00:00:00Z", 86400.0),
    ("1970-01-01 01:00:00+01:00", 0.0),
    ("1970-01-01T00:00:00.000001", 1e-6),
    (datetime(1970, 1, 1, 0, 0, 10, tzinfo=UTC), 10.0),
    (datetime(1970, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))), 0.0),
    (pd.Timestamp("1970-01-01 00:01"), 60.0),
    (np.datetime64("1970-01-01T00:00:03"), 3.0),
])
def test_to_epoch_seconds_reads_iso_strings_and_datetimes_as_utc(value: object, expected: float) -> None:
    assert parsing.to_epoch_seconds(value) == expected


@pytest.mark.parametrize("value", [None, "yesterday", 1700000000, pd.NaT, np.datetime64("NaT")])
def test_to_epoch_seconds_gives_nan_when_not_a_timestamp(value: object) -> None:
    assert math.isnan(parsing.to_epoch_seconds(value))


def test_numbers_fast_path_equals_elementwise_path() -> None:
    typed = np.array([1.0, np.nan, np.inf, -2.0, 0.0])
    elementwise = np.fromiter((parsing.to_number(v) for v in typed.astype(object)), np.float64)
    np.testing.assert_array_equal(parsing.numbers(typed), elementwise)
    np.testing.assert_array_equal(parsing.numbers(np.array([1, 0, 5])), [1.0, 0.0, 5.0])


def test_flags_fast_path_equals_elementwise_path() -> None:
    typed = np.array([1.0, 0.0, np.nan, 2.0])
    elementwise = np.fromiter((parsing.to_flag(v) for v in typed.astype(object)), np.float64)
    np.testing.assert_array_equal(parsing.flags(typed), elementwise)
    np.testing.assert_array_equal(parsing.flags(np.array([True, False])), [1.0, 0.0])


def test_epoch_seconds_fast_path_equals_elementwise_path() -> None:
    stamps = pd.Series(pd.to_datetime(["2025-01-01 10:00:00.123456789", None, "1969-12-31 23:59:59.5"]))
    elementwise = np.fromiter((parsing.to_epoch_seconds(v) for v in stamps.tolist()), np.float64)
    np.testing.assert_array_equal(parsing.epoch_seconds(stamps.to_numpy()), elementwise)


def test_categories_string_fast_path_equals_mixed_path() -> None:
    strings = np.array(["b", None, " a", "a", "", "b", np.nan], dtype=object)
    mixed = np.empty(len(strings) + 3, dtype=object)
    mixed[:] = [*strings, 1, True, "1"]
    fast = parsing.categories(strings).values().tolist()
    slow = parsing.categories(mixed).values().tolist()
    assert fast == ["b", parsing.MISSING, "a", "a", parsing.MISSING, "b", parsing.MISSING]
    assert slow == [*fast, "1", "true", "1"]


def test_categories_lookup_is_per_level() -> None:
    column = parsing.categories(np.array(["x", "y", "x"], dtype=object))
    assert column.lookup(lambda level: 1.0 if level == "x" else 0.0).tolist() == [1.0, 0.0, 1.0]


def test_categories_handles_empty_and_all_missing_columns() -> None:
    assert parsing.categories(np.array([], dtype=object)).values().tolist() == []
    assert parsing.categories(np.array([None, None], dtype=object)).values().tolist() == [parsing.MISSING] * 2


def test_texts_of_a_json_column_equal_to_text_per_value() -> None:
    """The strings-and-None column takes a shortcut; every kind of blank still reads as missing."""
    plain = ["note", "", " ", "\t\n", "\u00a0", "\u2003x", "\u3000", "\x1c", " a b ", None, "\u200b"]
    mixed = [*plain, 3, 2.5, float("nan"), True]
    for values in (plain, mixed):
        column = np.empty(len(values), dtype=object)
        column[:] = values
        assert parsing.texts(column) == [parsing.to_text(v) for v in values]

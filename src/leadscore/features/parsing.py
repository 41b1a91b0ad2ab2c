"""Raw values -> canonical values, one parser per field kind.

Training (a DataFrame column) and serving (a list of JSON records) both pass through these
functions, so a lead gets the same features whichever door it came in by. Fast paths for
typed numpy columns must give exactly what the element-wise path gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np

from leadscore.data.schema import boolean_value

MISSING = "__missing__"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def is_missing(value: Any) -> bool:
    """None, NaN, pandas NA/NaT and blank strings all mean "not given"."""
    if value is None:
        return True
    if type(value) is str:
        return not value.strip()
    if isinstance(value, float | np.floating):
        return bool(math.isnan(value))
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, np.datetime64):
        return bool(np.isnat(value))
    return type(value).__name__ in ("NAType", "NaTType")


def to_number(value: Any) -> float:
    """A float, NaN when missing, non-numeric or non-finite (bools count as 1/0)."""
    kind = type(value)
    if kind is float:  # the common cases first: this runs once per field per lead
        return value if math.isfinite(value) else math.nan
    if kind is int:
        return float(value)
    if value is None:
        return math.nan
    if isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return math.nan
    else:
        return math.nan
    return number if math.isfinite(number) else math.nan


def to_flag(value: Any) -> float:
    """1.0 / 0.0 for boolean-looking values, NaN otherwise."""
    if value is True or value is False:  # the JSON case, without the general lookup
        return float(value)
    flag = boolean_value(value)
    return math.nan if flag is None else float(flag)


def to_epoch_seconds(value: Any) -> float:
    """Seconds since 1970-01-01 UTC at microsecond resolution; naive times are taken as UTC."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            return math.nan
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return math.nan
        return int(value.astype("datetime64[us]").astype(np.int64)) / 1e6
    if isinstance(value, datetime):
        if type(value).__name__ == "NaTType":
            return math.nan
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return ((value - _EPOCH) // _MICROSECOND) / 1e6
    return math.nan


def to_category(value: Any) -> str:
    """A level name: strings stripped, 3 / 3.0 / "3" alike, missing -> ``MISSING``."""
    if type(value) is str:
        return value.strip() or MISSING
    if is_missing(value):
        return MISSING
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return str(value)


def to_text(value: Any) -> str:
    """Free text; missing is the empty string (so it counts 0 characters, 0 words)."""
    if is_missing(value):
        return ""
    return value if isinstance(value, str) else str(value)


def numbers(column: np.ndarray) -> np.ndarray:
    """float64 array of ``to_number`` over a column (vectorised for numeric dtypes)."""
    if column.dtype.kind in "biuf":
        out = column.astype(np.float64)
        out[~np.isfinite(out)] = np.nan
        return out
    return np.fromiter((to_number(v) for v in column), dtype=np.float64, count=len(column))


def flags(column: np.ndarray) -> np.ndarray:
    """float64 array of ``to_flag`` over a column."""
    if column.dtype.kind in "biuf":  # validated tables hold flags as float 1/0/NaN
        out = column.astype(np.float64)
        out[(out != 0.0) & (out != 1.0)] = np.nan
        return out
    return np.fromiter((to_flag(v) for v in column), dtype=np.float64, count=len(column))


def epoch_seconds(column: np.ndarray) -> np.ndarray:
    """float64 array of ``to_epoch_seconds`` over a column (vectorised for datetime64)."""
    if column.dtype.kind == "M":
        micros = column.astype("datetime64[us]")
        out = micros.astype(np.int64) / 1e6
        out[np.isnat(micros)] = np.nan
        return out
    return np.fromiter((to_epoch_seconds(v) for v in column), dtype=np.float64, count=len(column))


class Levels(NamedTuple):
    """A categorical column as distinct canonical levels and each row's index into them."""

    levels: list[str]
    codes: np.ndarray

    def values(self) -> np.ndarray:
        """The canonical level of every row (object array)."""
        return np.asarray(self.levels, dtype=object)[self.codes] if self.levels else self.codes.astype(object)

    def lookup(self, table: Callable[[str], float]) -> np.ndarray:
        """``table(level)`` for every row, computed once per distinct level."""
        per_level = np.fromiter((table(level) for level in self.levels), np.float64, len(self.levels))
        return per_level[self.codes]


def categories(column: np.ndarray) -> Levels:
    """``to_category`` over a column, as ``Levels``.

    All-string columns (the usual case) are factorised by pandas in C when it is installed;
    anything else goes value by value, so 1 / True / "1" keep their distinct meanings.
    """
    try:
        import pandas as pd
    except ImportError:  # the serving path never needs this function; stay importable without pandas
        pd = None
    if pd is not None and pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        raw_codes, uniques = pd.factorize(column, use_na_sentinel=True)
        canonical = [to_category(v) for v in uniques] + ([MISSING] if (raw_codes < 0).any() else [])
        index: dict[str, int] = {}
        remap = np.fromiter((index.setdefault(level, len(index)) for level in canonical), np.intp, len(canonical))
        return Levels(list(index), remap[raw_codes])
    index = {}
    codes = np.fromiter((index.setdefault(to_category(v), len(index)) for v in column), np.intp, len(column))
    return Levels(list(index), codes)


_STR_OR_NONE = frozenset({str, type(None)})


def texts(column: np.ndarray) -> list[str]:
    """``to_text`` over a column; for the JSON case (strings and None) without a call per value
    (``str.isspace`` is true for the very strings ``not str.strip()`` is, except ``""``)."""
    values = list(column)
    if set(map(type, values)) <= _STR_OR_NONE:
        return [v if v and not v.isspace() else "" for v in values]
    return [to_text(v) for v in values]

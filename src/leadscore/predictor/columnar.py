"""The batch fast path: plain JSON leads become typed columns, checked a column at a time.

``FeatureSpec.validate_records`` and ``transform_records`` work lead by lead, which is the
fastest shape for one lead but costs tens of microseconds per lead in a 1000-lead batch.
Leads decoded from JSON are nearly always *plain*: every value of a field has the JSON type
its kind expects (numbers for numeric fields, booleans, strings). For such a batch this
module checks each field with numpy in one pass and builds typed columns for the public
columnar transform (``FeatureSpec.transform_columns``), which gives the same matrix as the
record path (tests/unit/predictor/test_columnar.py holds both to bit equality).

It only ever *accepts*: whenever a value is not plainly valid (a numeric string, a NaN, a
negative count, a missing id, an unknown field in strict mode ...), it returns None and the
caller runs ``FeatureSpec.validate_records``, which finds the first bad field and words the
error. So the rules of what is valid live in ``leadscore.features`` alone; this is a
conservative shortcut for the common case, never a second opinion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

import numpy as np

from leadscore.features.contract import MAX_STRING_CHARS, MAX_TEXT_CHARS, InputField

Columns = dict[str, np.ndarray]

_NONE = type(None)
# The JSON types whose values are valid for a field kind without further checks (None is
# "not given", which the contract accepts for every field that is not required).
_PLAIN: dict[str, frozenset[type]] = {
    "numeric": frozenset({int, float, _NONE}),
    "boolean": frozenset({bool, str, _NONE}),  # str: only the words of _FLAG_WORDS, checked below
    "categorical": frozenset({str, int, _NONE}),
    "text": frozenset({str, _NONE}),
    "datetime": frozenset({str, _NONE}),
    "id": frozenset({str, int, _NONE}),
}
_FLAG_WORDS = {"true": 1.0, "false": 0.0}
"""Booleans sent as text: what a V2 client puts in a BYTES tensor when a boolean field has gaps."""
_NAIVE_SECONDS = re.compile(r"(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\n)*")
MIN_BATCH = 16
"""Below this many leads the record path is as fast, and this one is not worth its setup."""


class FieldValues(Protocol):
    """A batch seen field by field (``leadscore.predictor.decode.DecodedBatch``)."""

    def values(self, name: str) -> list[Any]: ...

    def names(self) -> set[str]: ...


def plain_columns(
    fields: Iterable[InputField], batch: FieldValues, *, strict: bool, typed: bool = False
) -> Columns | None:
    """Typed columns when every lead is plainly valid for ``fields``; None when in any doubt.

    ``typed``: the values come from ``leadscore.predictor.typed``, whose decoder already proved
    each value's JSON type, minimum and length (its annotations are this module's ``_PLAIN``
    rules); only what it cannot prove is checked here (blank ids, timestamps)."""
    fields = list(fields)
    if strict and not batch.names() <= {f.name for f in fields}:
        return None
    columns: Columns = {}
    for field in fields:
        values = batch.values(field.name)
        column = _proven_column(field, values) if typed else _plain_column(field, values)
        if column is None:
            return None
        if field.kind != "id":
            columns[field.name] = column
    return columns


def _proven_column(field: InputField, values: list[Any]) -> np.ndarray | None:
    """A column of values whose types, minimums and lengths the typed decoder has checked."""
    if field.kind in ("numeric", "boolean"):  # float | None, bool | None -> float64, None -> NaN
        return np.array(values, dtype=np.float64)
    if field.kind in ("categorical", "text"):
        return _objects(values)
    return _plain_column(field, values)


def _objects(values: list[Any]) -> np.ndarray:
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def _plain_column(field: InputField, values: list[Any]) -> np.ndarray | None:
    types = set(map(type, values))
    if not types <= _PLAIN[field.kind] or (field.required and _NONE in types):
        return None
    if field.kind == "numeric":
        return _numbers(field, values)
    if field.kind == "boolean":  # True/False/"true"/"false"/None -> 1.0/0.0/NaN, what to_flag gives
        if str in types:
            if not {v for v in values if type(v) is str} <= _FLAG_WORDS.keys():
                return None
            values = [_FLAG_WORDS.get(v, v) if type(v) is str else v for v in values]
        return np.array(values, dtype=np.float64)
    if field.kind == "datetime":
        return _timestamps(values)
    if field.kind == "id" and str in types and not all(map(str.strip, (v for v in values if type(v) is str))):
        return None  # a blank id
    limit = MAX_TEXT_CHARS if field.kind == "text" else MAX_STRING_CHARS
    if str in types and _longest(values, types) > limit:
        return None  # a string over the documented length
    return _objects(values)


def _longest(values: list[Any], types: set[type]) -> int:
    """The longest string's length; in C when the column holds only strings and None (``filter``
    drops None, and empty strings, which cannot be the longest)."""
    if int not in types:
        return max(map(len, filter(None, values)), default=0)
    return max(len(v) for v in values if type(v) is str)


def _numbers(field: InputField, values: list[Any]) -> np.ndarray | None:
    try:
        array = np.array(values, dtype=np.float64)  # None -> NaN
    except OverflowError:  # an integer beyond float range: let the contract word it
        return None
    missing = np.isnan(array)
    if int(missing.sum()) != values.count(None) or np.isinf(array).any():
        return None  # a NaN or an infinity was sent as a value
    if field.minimum is not None and bool((array[~missing] < field.minimum).any()):
        return None
    return array


def _timestamps(values: list[Any]) -> np.ndarray | None:
    """datetime64 for naive ``YYYY-MM-DDTHH:MM:SS`` strings (read as UTC, as the contract does);
    other valid ISO-8601 forms stay strings for the per-value parser; None when any is invalid."""
    given = [v for v in values if v is not None]
    if _NAIVE_SECONDS.fullmatch("\n".join(given) + "\n"):  # one regex pass over the whole column
        try:
            return np.array(values, dtype="datetime64[us]")  # None -> NaT; refuses 2024-02-30
        except ValueError:
            return None
    try:
        for value in given:
            datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return _objects(values)

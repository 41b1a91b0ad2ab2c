"""The input contract a serving request is checked against before it is scored.

It is derived from the training data when the pipeline is fitted and saved in
``feature_spec.json``, so the predictor refuses a negative page count or a word where a date
belongs with the field named, instead of scoring garbage.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from leadscore.data.schema import boolean_value
from leadscore.errors import InvalidInputError

FieldKind = Literal["id", "numeric", "boolean", "categorical", "datetime", "text"]

MAX_TEXT_CHARS = 10_000
"""Longest free-text value a request may carry (notes, comments); longer is refused."""
MAX_STRING_CHARS = 1_000
"""Longest id or categorical level a request may carry; longer is refused."""


class RecordError(InvalidInputError):
    """One bad field in one request record; the message names both (HTTP 400 material)."""

    def __init__(self, index: int, field: str | None, message: str) -> None:
        self.index = index
        self.field = field
        self.problem = message
        where = f"instances[{index}]" + (f".{field}" if field else "")
        super().__init__(f"{where}: {message}")


class InputField(BaseModel):
    """One raw field a request may carry."""

    name: str
    kind: FieldKind
    required: bool = Field(False, description="Only the lead id is required; features may be missing.")
    minimum: float | None = Field(None, description="Smallest acceptable value (physical bound).")
    categories: list[str] = Field(default_factory=list, description="Levels seen in training.")
    clip: tuple[float, float] | None = Field(
        None,
        description="Numeric fields: the training range [min, max]. Values outside are clipped to it before "
        "encoding (no member extrapolates beyond what it saw) and the lead is flagged out of range.",
    )

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is unacceptable for this field, or None when it is fine."""
        if value is None:
            return "required field is null" if self.required else None
        return _CHECKS[self.kind](self, value)


def _shown(value: Any) -> str:
    try:
        text = repr(value) if isinstance(value, str) else str(value)
    except (RecursionError, ValueError):  # nested thousands deep, or an integer of 10**6 digits
        return f"a {type(value).__name__} too deep or too long to show"
    return text if len(text) <= 40 else text[:37] + "..."


def _too_long(value: Any, limit: int) -> str | None:
    if isinstance(value, str) and len(value) > limit:
        return f"expected at most {limit} characters, got {len(value)}"
    return None


def _check_id(_: InputField, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return f"expected a string or integer id, got {_shown(value)}"
    if too_long := _too_long(value, MAX_STRING_CHARS):
        return too_long
    return None if str(value).strip() else "expected a non-empty id, got ''"


def _check_numeric(field: InputField, value: Any) -> str | None:
    bound = "" if field.minimum is None else f" >= {field.minimum:g}"
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float range (JSON allows any number of digits)
            return f"expected a finite number{bound}, got an integer beyond the float range"
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None:
        return f"expected a number{bound}, got {_shown(value)}"
    if not math.isfinite(number):
        return f"expected a finite number{bound}, got {_shown(value)}"
    if field.minimum is not None and number < field.minimum:
        return f"expected a number{bound}, got {_shown(value)}"
    return None


def _check_boolean(_: InputField, value: Any) -> str | None:
    if boolean_value(value) is None:
        return f"expected true/false (or 1/0, yes/no), got {_shown(value)}"
    return None


def _check_categorical(_: InputField, value: Any) -> str | None:
    if isinstance(value, str | int | float) and not (isinstance(value, float) and not math.isfinite(value)):
        return _too_long(value, MAX_STRING_CHARS)
    return f"expected a string, got {_shown(value)}"


def _check_datetime(_: InputField, value: Any) -> str | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value.strip())
            return None
        except ValueError:
            pass
    return f"expected an ISO-8601 timestamp, got {_shown(value)}"


def _check_text(_: InputField, value: Any) -> str | None:
    return _too_long(value, MAX_TEXT_CHARS) if isinstance(value, str) else f"expected a string, got {_shown(value)}"


_CHECKS = {
    "id": _check_id,
    "numeric": _check_numeric,
    "boolean": _check_boolean,
    "categorical": _check_categorical,
    "datetime": _check_datetime,
    "text": _check_text,
}


def validate_records(fields: Iterable[InputField], records: list[Any], *, strict: bool = False) -> None:
    """Raise ``RecordError`` for the first bad record; unknown fields are errors only when strict."""
    fields = list(fields)
    known = {f.name for f in fields}
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise RecordError(index, None, f"expected an object, got {type(record).__name__}")
        for field in fields:
            if field.name not in record:
                if field.required:
                    raise RecordError(index, field.name, "required field is missing")
                continue
            problem = field.problem(record[field.name])
            if problem:
                raise RecordError(index, field.name, problem)
        if strict:
            unknown = sorted(str(k) for k in record if k not in known)
            if unknown:
                raise RecordError(index, unknown[0], "unknown field (strict mode)")

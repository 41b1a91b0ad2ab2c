"""The fitted feature pipeline as plain data: ``feature_spec.json``.

Everything ``LeadFeatures.fit`` learns lives in a ``FeatureSpec``: the input contract and an
ordered list of encoders, each writing its own block of output columns. Serving loads the
JSON and transforms with numpy alone (no pandas, no scikit-learn), which keeps the predictor
image small and one lead's transform in the tens of microseconds. Floats round-trip JSON
exactly (Python writes the shortest repr), so a reloaded spec gives bit-identical output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from leadscore.features import parsing
from leadscore.features.contract import InputField, validate_records

SPEC_VERSION = 1
OTHER = "__other__"

Columns = dict[str, np.ndarray]
"""Raw values per input field, each an array of length n (object or typed dtype)."""


class Parsed:
    """Canonical values per field, computed once per transform and shared by encoders."""

    def __init__(self, fields: Mapping[str, InputField], columns: Columns, n: int) -> None:
        self._fields = fields
        self._columns = columns
        self.n = n
        self._cache: dict[str, Any] = {}

    def raw(self, name: str) -> np.ndarray:
        column = self._columns.get(name)
        return column if column is not None else np.full(self.n, None, dtype=object)

    def _get(self, name: str, parse: Any) -> Any:
        key = f"{parse.__name__}:{name}"
        if key not in self._cache:
            self._cache[key] = parse(self.raw(name))
        return self._cache[key]

    def numbers(self, name: str) -> np.ndarray:
        return self._get(name, parsing.numbers)

    def flags(self, name: str) -> np.ndarray:
        return self._get(name, parsing.flags)

    def seconds(self, name: str) -> np.ndarray:
        return self._get(name, parsing.epoch_seconds)

    def categories(self, name: str) -> list[str]:
        return self._get(name, parsing.categories)

    def texts(self, name: str) -> list[str]:
        return self._get(name, parsing.texts)

    def present(self, name: str) -> np.ndarray:
        """1.0 where the field carries a value (a true flag for boolean fields), else 0.0."""
        kind = self._fields[name].kind
        if kind == "boolean":
            return (self.flags(name) == 1.0).astype(np.float64)
        if kind in ("numeric", "datetime"):
            values = self.numbers(name) if kind == "numeric" else self.seconds(name)
            return (~np.isnan(values)).astype(np.float64)
        return np.fromiter((not parsing.is_missing(v) for v in self.raw(name)), np.float64, self.n)


class NumericEncoder(BaseModel):
    """The number as is (NaN kept for the boosters), plus a missing flag when training had gaps."""

    type: Literal["numeric"] = "numeric"
    field: str
    missing_indicator: bool = False

    def names(self) -> list[str]:
        return [self.field] + ([f"{self.field}__missing"] if self.missing_indicator else [])

    def encode(self, parsed: Parsed) -> list[np.ndarray]:
        values = parsed.numbers(self.field)
        return [values] + ([np.isnan(values).astype(np.float64)] if self.missing_indicator else [])


class BooleanEncoder(BaseModel):
    """1 / 0, NaN when missing."""

    type: Literal["boolean"] = "boolean"
    field: str

    def names(self) -> list[str]:
        return [self.field]

    def encode(self, parsed: Parsed) -> list[np.ndarray]:
        return [parsed.flags(self.field)]


class OneHotEncoder(BaseModel):
    """One column per training level (missing is a level), plus one for unseen levels."""

    type: Literal["onehot"] = "onehot"
    field: str
    levels: list[str]

    def names(self) -> list[str]:
        return [f"{self.field}={level}" for level in [*self.levels, OTHER]]

    def encode(self, parsed: Parsed) -> list[np.ndarray]:
        index = {level: i for i, level in enumerate(self.levels)}
        other = len(self.levels)
        codes = np.fromiter((index.get(v, other) for v in parsed.categories(self.field)), np.intp, parsed.n)
        block = np.zeros((parsed.n, other + 1), dtype=np.float64)
        block[np.arange(parsed.n), codes] = 1.0
        return list(block.T)


class FrequencyTargetEncoder(BaseModel):
    """Many levels: the level's share of training rows, and its smoothed conversion rate.

    Unseen levels get frequency 0 and the prior rate. ``LeadFeatures.fit_transform`` replaces
    the rate with out-of-fold values so a row never sees its own label.
    """

    type: Literal["frequency_target"] = "frequency_target"
    field: str
    frequency: dict[str, float]
    target_rate: dict[str, float] | None = None
    prior: float | None = None

    def names(self) -> list[str]:
        rate = [f"{self.field}__target_rate"] if self.target_rate is not None else []
        return [f"{self.field}__frequency", *rate]

    def encode(self, parsed: Parsed) -> list[np.ndarray]:
        values = parsed.categories(self.field)
        out = [np.fromiter((self.frequency.get(v, 0.0) for v in values), np.float64, parsed.n)]
        if self.target_rate is not None:
            rates, prior = self.target_rate, self.prior
            out.append(np.fromiter((rates.get(v, prior) for v in values), np.float64, parsed.n))
        return out


DatetimePart = Literal["hour", "day_of_week", "is_weekend", "is_business_hours", "month", "quarter"]


def _civil_month(days: np.ndarray) -> np.ndarray:
    """Month 1-12 from days since 1970-01-01 (H. Hinnant's civil_from_days, vectorised)."""
    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    return np.where(mp < 10, mp + 3, mp - 9)


class DatetimeEncoder(BaseModel):
    """Calendar parts in UTC, and days after the lead's creation time for other timestamps.

    No absolute "age" feature: with a time-aware split it only extrapolates beyond the
    training range, which trees cannot do.
    """

    type: Literal["datetime"] = "datetime"
    field: str
    parts: list[DatetimePart]
    relative_to: str | None = None

    def names(self) -> list[str]:
        relative = [f"{self.field}__days_after_{self.relative_to}"] if self.relative_to else []
        return [f"{self.field}__{part}" for part in self.parts] + relative

    def encode(self, parsed: Parsed) -> list[np.ndarray]:
        seconds = parsed.seconds(self.field)
        missing = np.isnan(seconds)
        whole = np.where(missing, 0.0, seconds)
        days = np.floor_divide(whole, 86400.0).astype(np.int64)
        hour = np.floor_divide(whole - days * 86400.0, 3600.0)
        weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
        month = _civil_month(days)
        values = {
            "hour": hour,
            "day_of_week": weekday,
            "is_weekend": weekday >= 5,
            "is_business_hours": (weekday < 5) & (hour >= 9) & (hour < 17),
            "month": month,
            "quarter": (month - 1) // 3 + 1,
        }
        out = [np.where(missing, np.nan, values[part].astype(np.float64)) for part in self.parts]
        if self.relative_to:
            out.append((seconds - parsed.seconds(self.relative_to)) / 86400.0)
        return out


class TextEncoder(BaseModel):
    """Free text as its length in characters and words (missing = empty)."""

    type: Literal["text"] = "text"
    field: str

    def names(self) -> list[str]:
        return [f"{self.field}__chars", f"{self.field}__words"]

    def encode(self, parsed: Parsed) -> list[np.ndarray]:
        values = parsed.texts(self.field)
        chars = np.fromiter((len(v) for v in values), np.float64, parsed.n)
        words = np.fromiter((len(v.split()) for v in values), np.float64, parsed.n)
        return [chars, words]


class ContactEncoder(BaseModel):
    """Contact completeness: which contact fields were given, and the share given (0-1).

    Raw contact values (an e-mail address, a phone number) are personal data and useless as
    categories, so only their presence is encoded; boolean ``has_*`` fields feed the score
    and keep their own boolean column.
    """

    type: Literal["contact"] = "contact"
    fields: list[str]
    presence_columns: list[str] = Field(description="Fields that get a `<field>__present` column.")

    def names(self) -> list[str]:
        return [f"{name}__present" for name in self.presence_columns] + ["contact_completeness"]

    def encode(self, parsed: Parsed) -> list[np.ndarray]:
        present = {name: parsed.present(name) for name in self.fields}
        score = np.sum([present[name] for name in self.fields], axis=0) / len(self.fields)
        return [present[name] for name in self.presence_columns] + [score]


class RatioEncoder(BaseModel):
    """An engagement ratio: ``a / b`` (divide) or ``a / (a + b)`` (share); NaN when undefined."""

    type: Literal["ratio"] = "ratio"
    name: str
    numerator: str
    denominator: str
    op: Literal["divide", "share"]

    def names(self) -> list[str]:
        return [self.name]

    def encode(self, parsed: Parsed) -> list[np.ndarray]:
        a = parsed.numbers(self.numerator)
        b = parsed.numbers(self.denominator)
        below = a + b if self.op == "share" else b
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(below > 0, a / np.where(below > 0, below, 1.0), np.nan)
        return [ratio]


Encoder = Annotated[
    NumericEncoder | BooleanEncoder | OneHotEncoder | FrequencyTargetEncoder | DatetimeEncoder
    | TextEncoder | ContactEncoder | RatioEncoder,
    Field(discriminator="type"),
]


def origins(encoder: Encoder) -> dict[str, str]:
    """Output column -> the raw field it explains (derived scores explain themselves)."""
    if isinstance(encoder, ContactEncoder):
        names = encoder.names()
        return {**{n: n.removesuffix("__present") for n in names[:-1]}, names[-1]: names[-1]}
    if isinstance(encoder, RatioEncoder):
        return {encoder.name: encoder.name}
    return {name: encoder.field for name in encoder.names()}


class FeatureSpec(BaseModel):
    """``feature_spec.json``: the input contract and the fitted encoders, in output order."""

    version: int = SPEC_VERSION
    id_field: str | None = None
    inputs: list[InputField]
    encoders: list[Encoder]

    def feature_names(self) -> list[str]:
        """Output column names, in matrix order (the ONNX model's input order)."""
        return [name for encoder in self.encoders for name in encoder.names()]

    def feature_origins(self) -> dict[str, str]:
        """Output column -> raw field (or derived concept such as ``contact_completeness``)."""
        return {k: v for encoder in self.encoders for k, v in origins(encoder).items()}

    def transform_columns(self, columns: Columns, n: int) -> np.ndarray:
        """The float32 feature matrix for ``n`` rows of raw columns."""
        parsed = Parsed({f.name: f for f in self.inputs}, columns, n)
        blocks = [column for encoder in self.encoders for column in encoder.encode(parsed)]
        if not blocks:
            return np.empty((n, 0), dtype=np.float32)
        return np.column_stack(blocks).astype(np.float32)

    def transform_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The serving path: JSON-like records straight to the matrix, no pandas."""
        n = len(records)
        columns: Columns = {}
        for field in self.inputs:
            column = np.empty(n, dtype=object)
            column[:] = [record.get(field.name) for record in records]
            columns[field.name] = column
        return self.transform_columns(columns, n)

    def validate_records(self, records: list[Any], *, strict: bool = False) -> None:
        """Raise ``RecordError`` naming the first bad field (see ``contract.validate_records``)."""
        validate_records(self.inputs, records, strict=strict)

"""The dataset contract: what the user declares (``DatasetSpec``) and what we infer (``DatasetSchema``).

The schema is recorded in the model card, so every role decision is plain data that can be
read back later ("why was ``zip`` treated as categorical?"). Inference is pure: it looks at
a DataFrame and the spec and never changes either.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadscore.api.feedback import FEEDBACK_PREFIX, TARGET_SCORE_COLUMN
from leadscore.api.leadscoringmodel import TEXT_MAX_FEATURES

ColumnRole = Literal[
    "id", "target", "time", "numeric", "boolean", "categorical", "datetime", "text", "excluded"
]
DeclarableType = Literal["numeric", "boolean", "categorical", "datetime", "text"]

# Columns the synthetic generator writes that describe the truth, not the lead. Training never
# sees them: infer_schema marks them excluded whatever the spec says.
GROUND_TRUTH_COLUMNS: tuple[str, ...] = ("true_probability",)


def never_a_feature(name: object) -> bool:
    """Ground truth, and what happened to a lead after it was scored (its ``feedback.*`` facts,
    a graded ``target_score``): excluded whatever the spec says."""
    return name in GROUND_TRUTH_COLUMNS or (
        isinstance(name, str) and (name.startswith(FEEDBACK_PREFIX) or name == TARGET_SCORE_COLUMN))


# More distinct levels than this makes a categorical "high cardinality" (the feature pipeline
# then uses frequency + out-of-fold target encoding instead of one-hot).
HIGH_CARDINALITY = 10
# A column is inferred numeric/boolean/datetime when at least this share of its non-missing
# values parse as such; a declared numeric column with more garbage than 1 - this is refused.
PARSE_SHARE = 0.95

BOOLEAN_WORDS: dict[str, int] = {
    "1": 1, "0": 0, "true": 1, "false": 0, "yes": 1, "no": 0, "y": 1, "n": 0, "t": 1, "f": 0,
}
_DATE_HINT = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}|^\d{1,2}/\d{1,2}/\d{2,4}")


class DatasetSpec(BaseModel):
    """What the user tells us about a dataset (CLI flags / the CR's ``dataset`` block)."""

    model_config = ConfigDict(extra="forbid")

    target: str = Field(description="Binary outcome column (1/0, yes/no, true/false, Y/N).")
    id_column: str | None = Field(None, description="Lead id; must be unique. Never a feature.")
    time_column: str | None = Field(
        None, description="When the lead was created; enables the time-aware split and time features."
    )
    exclude: list[str] = Field(default_factory=list, description="Columns never used as features.")
    post_outcome: list[str] = Field(
        default_factory=list,
        description="Columns filled only after the outcome is known; refused unless allow_leaky.",
    )
    types: dict[str, DeclarableType] = Field(
        default_factory=dict, description="Declared column types that override inference."
    )
    text_columns: list[str] = Field(
        default_factory=list,
        description="Free-text columns to encode in full (TF-IDF terms, keyword flags, e-mail/phone, amounts); "
                    "a column declared text in ``types`` counts too. Undeclared text gives its length only.",
    )
    text_max_features: int = Field(TEXT_MAX_FEATURES, ge=1, le=1000,
                                   description="TF-IDF vocabulary size per declared text column.")
    allow_leaky: bool = Field(False, description="Keep leaky columns, recording warnings instead.")
    leak_threshold: float = Field(
        0.9, gt=0.5, le=1.0,
        description="Single-column holdout ROC-AUC at or above which a column is refused.",
    )

    @field_validator("exclude", "post_outcome", "text_columns", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        """Accept the CLI's "a,b,c", repeated or not, as well as a list."""
        values = [value] if isinstance(value, str) else value
        if isinstance(values, list) and all(isinstance(v, str) for v in values):
            return [part.strip() for v in values for part in v.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _text_columns_are_features(self) -> DatasetSpec:
        """A text column cannot also be the target, id or time, nor be declared another type."""
        for name in self.text_columns:
            if name in (self.target, self.id_column, self.time_column):
                raise ValueError(f"text column {name!r} is the dataset's target, id or time column")
            if self.types.get(name, "text") != "text":
                raise ValueError(f"text column {name!r} is also declared {self.types[name]}")
        return self


class ColumnSchema(BaseModel):
    """One column's inferred role and the facts the decision rested on."""

    name: str
    role: ColumnRole
    dtype: str = Field(description="pandas dtype as loaded.")
    missing_fraction: float = Field(ge=0.0, le=1.0)
    n_unique: int = Field(ge=0)
    high_cardinality: bool = False
    post_outcome: bool = False
    declared: bool = Field(False, description="Role comes from the spec, not inference.")


class DatasetSchema(BaseModel):
    """Roles for every column of a dataset; JSON-serializable, recorded in the model card."""

    target: str
    id_column: str | None = None
    time_column: str | None = None
    rows: int = Field(ge=0)
    positive_rate: float | None = Field(None, ge=0.0, le=1.0)
    columns: list[ColumnSchema]

    def column(self, name: str) -> ColumnSchema:
        """The column called ``name`` (KeyError when absent)."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def names(self, *roles: ColumnRole) -> list[str]:
        """Column names having any of ``roles``, in dataset order."""
        return [c.name for c in self.columns if c.role in roles]

    @property
    def feature_columns(self) -> list[str]:
        """Columns the feature pipeline may use: everything but id, target and excluded."""
        return [c.name for c in self.columns if c.role not in ("id", "target", "excluded")]


def boolean_value(value: object) -> int | None:
    """1/0 for a boolean-looking value (True, "yes", "Y", 1, "0", ...), None otherwise."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, int | np.integer) and value in (0, 1):
        return int(value)
    if isinstance(value, float | np.floating) and value in (0.0, 1.0):
        return int(value)
    if isinstance(value, str):
        return BOOLEAN_WORDS.get(value.strip().lower())
    return None


def boolean_values(series: pd.Series) -> pd.Series:
    """``boolean_value`` over a column as float 1/0, NaN where missing or not boolean-looking.

    Maps the distinct values once, then the column by hash lookup (a million rows of
    "Yes"/"No" cost two calls, not a million).
    """
    lookup = {v: boolean_value(v) for v in pd.unique(series.dropna())}
    return series.map(lookup).astype("float64")


def value_counts(series: pd.Series) -> pd.Series:
    """Counts of each distinct non-missing value (blank strings count as missing).

    Inference looks at distinct values weighted by their counts, so a 41k-row column with
    a dozen levels costs a dozen string operations, not 41k.
    """
    counts = series.value_counts(dropna=True, sort=False)
    if series.dtype == object and len(counts):
        blank = np.fromiter((isinstance(v, str) and not v.strip() for v in counts.index), bool, len(counts))
        counts = counts[~blank]
    return counts


def _share(counts: pd.Series, ok: np.ndarray) -> float:
    total = counts.sum()
    return float(counts[ok].sum() / total) if total else 1.0


def numeric_share(series: pd.Series) -> float:
    """Share of non-missing values that parse as numbers (1.0 when none are given)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return 1.0
    counts = value_counts(series)
    parsed = pd.to_numeric(pd.Series(counts.index.astype(str)).str.strip(), errors="coerce")
    return _share(counts, parsed.notna().to_numpy())


def datetime_share(series: pd.Series) -> float:
    """Share of non-missing values that parse as dates (1.0 for datetime dtypes)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return 1.0
    counts = value_counts(series)
    if counts.empty:
        return 0.0
    parsed = pd.to_datetime(pd.Series(counts.index.astype(str)), errors="coerce", utc=True, format="mixed")
    return _share(counts, parsed.notna().to_numpy())


def _looks_boolean(series: pd.Series, counts: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(series):
        return True
    return 0 < len(counts) <= 2 and all(boolean_value(v) is not None for v in counts.index)


def _looks_datetime(series: pd.Series, counts: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if series.dtype != object or counts.empty:
        return False
    hinted = pd.Series(counts.index.astype(str)).str.match(_DATE_HINT).to_numpy()
    return _share(counts, hinted) >= PARSE_SHARE and datetime_share(series) >= PARSE_SHARE


def _looks_text(counts: pd.Series) -> bool:
    """Free text: multi-word sentences with many distinct values (notes, descriptions).

    Long category labels ("Will revert after reading the email") repeat a few dozen
    values; text has far more distinct values than a one-hot or rate encoding could use.
    """
    strings = pd.Series(counts.index.astype(str))
    weights = counts.to_numpy() / counts.sum()
    chars = float(strings.str.len().to_numpy() @ weights)
    words = float(strings.str.split().str.len().to_numpy() @ weights)
    many = len(counts) > max(5 * HIGH_CARDINALITY, 0.05 * counts.sum())
    return chars >= 20 and words >= 3 and many


def infer_role(series: pd.Series) -> ColumnRole:
    """The role a column would get with nothing declared (not id/target/time/excluded)."""
    counts = value_counts(series)
    if _looks_boolean(series, counts):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if counts.empty:
        return "categorical"
    if _looks_datetime(series, counts):
        return "datetime"
    if numeric_share(series) >= PARSE_SHARE:
        return "numeric"
    if _looks_text(counts):
        return "text"
    return "categorical"


def infer_schema(df: pd.DataFrame, spec: DatasetSpec) -> DatasetSchema:
    """Assign a role to every column of ``df``; checks nothing (``validate`` does).

    Precedence: ground-truth and feedback columns (``never_a_feature``)
    are always excluded, then the spec's target / id / time /
    exclude, then declared types, then inference from the values.
    """
    excluded = set(spec.exclude) | set(GROUND_TRUTH_COLUMNS)
    columns: list[ColumnSchema] = []
    for name in df.columns:
        series = df[name]
        declared = False
        if name in excluded or never_a_feature(name):
            role: ColumnRole = "excluded"
        elif name == spec.target:
            role = "target"
        elif name == spec.id_column:
            role = "id"
        elif name == spec.time_column:
            role = "time"
        elif name in spec.types:
            role, declared = spec.types[name], True
        elif name in spec.text_columns:
            role, declared = "text", True
        else:
            role = infer_role(series)
        n_unique = int(series.nunique(dropna=True))
        columns.append(
            ColumnSchema(
                name=str(name),
                role=role,
                dtype=str(series.dtype),
                missing_fraction=float(series.isna().mean()) if len(series) else 0.0,
                n_unique=n_unique,
                high_cardinality=role == "categorical" and n_unique > HIGH_CARDINALITY,
                post_outcome=name in spec.post_outcome,
                declared=declared,
            )
        )
    rate = _positive_rate(df, spec.target)
    return DatasetSchema(
        target=spec.target,
        id_column=spec.id_column,
        time_column=spec.time_column,
        rows=len(df),
        positive_rate=rate,
        columns=columns,
    )


def _positive_rate(df: pd.DataFrame, target: str) -> float | None:
    if target not in df.columns:
        return None
    counts = value_counts(df[target])
    labels = [boolean_value(v) for v in counts.index]
    if not labels or None in labels:
        return None
    return float(counts[np.array(labels) == 1].sum() / counts.sum())

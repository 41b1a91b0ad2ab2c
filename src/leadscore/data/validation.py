"""Refuse a dataset that cannot train a model worth shipping, with one clear message each.

``validate`` is the trainer's gate: it runs before anything is written, so a bad dataset
leaves no artifact behind. Each check names the column, the problem and an example of
what was found.
"""

from __future__ import annotations

import pandas as pd

from leadscore.data.schema import (
    PARSE_SHARE,
    DatasetSchema,
    DatasetSpec,
    boolean_values,
    datetime_share,
    infer_schema,
    numeric_share,
)
from leadscore.errors import DatasetError

MIN_ROWS = 100  # the seeds' minimum number of training samples


MIXED_SHARE = 0.2
"""An undeclared column with at least this share of numbers, but less than ``PARSE_SHARE``, is
ambiguous and refused: neither "numbers with a few typos" nor "words with a few numbers"."""


def _examples(values: pd.Series, limit: int = 3) -> str:
    """Distinct values as the user wrote them: ``2``, ``'maybe'``, never ``np.int64(2)``."""
    shown = [repr(v.item() if hasattr(v, "item") else v) for v in pd.unique(values)[:limit]]
    return ", ".join(shown)


def check_columns(df: pd.DataFrame, spec: DatasetSpec) -> None:
    """Every column the spec names must exist."""
    available = list(map(str, df.columns))
    named = [("target", spec.target), ("id column", spec.id_column), ("time column", spec.time_column)]
    named += [("excluded column", c) for c in spec.exclude]
    named += [("post-outcome column", c) for c in spec.post_outcome]
    named += [("declared column", c) for c in spec.types]
    named += [("text column", c) for c in spec.text_columns]
    for what, column in named:
        if column is not None and column not in available:
            shown = ", ".join(available[:12]) + (", ..." if len(available) > 12 else "")
            raise DatasetError(f"{what} {column!r} is not in the dataset (columns: {shown})")


def check_shard(df: pd.DataFrame, spec: DatasetSpec) -> None:
    """What one shard of a data set can be refused for on its own (``train --engine ray``, before
    the shards meet): a named column missing, a target value missing or not binary. The whole data
    set's checks (``validate``: row count, both classes, ids, types) run on the shards together."""
    check_columns(df, spec)
    _labels(df[spec.target])


def binary_target(series: pd.Series) -> pd.Series:
    """The target as int 0/1 (from 1/0, yes/no, true/false, Y/N in any case)."""
    labels = _labels(series)
    if labels.nunique() < 2:
        raise DatasetError(f"target {series.name!r} has a single class ({int(labels.iloc[0])}) in {len(labels)} rows")
    return labels


def _labels(series: pd.Series) -> pd.Series:
    name = series.name
    missing = int(series.isna().sum())
    if missing:
        raise DatasetError(f"target {name!r} has {missing} missing values; drop unlabelled rows first")
    mapped = boolean_values(series)
    unknown = series[mapped.isna()]
    distinct = pd.unique(series)
    if len(unknown) or len(distinct) > 2:
        raise DatasetError(
            f"target {name!r} is not binary: saw {len(distinct)} distinct values "
            f"({_examples(series, 4)}); expected 1/0, yes/no, true/false or Y/N"
        )
    return mapped.astype(int)


def check_ids(series: pd.Series) -> None:
    """Lead ids must be present and unique (a duplicate is usually a bad join)."""
    missing = int(series.isna().sum())
    if missing:
        raise DatasetError(f"id column {series.name!r} has {missing} missing values")
    duplicated = series[series.duplicated(keep=False)]
    if len(duplicated):
        raise DatasetError(
            f"id column {series.name!r} has {series.duplicated().sum()} duplicate ids "
            f"(e.g. {_examples(duplicated)})"
        )


def parse_times(series: pd.Series) -> pd.Series:
    """The time column as naive UTC datetime64; any missing or unparseable value is refused."""
    if pd.api.types.is_datetime64_any_dtype(series):
        parsed = series
    else:
        parsed = pd.to_datetime(series.astype("string"), errors="coerce", utc=True, format="mixed")
    bad = series[parsed.isna()]
    if len(bad):
        raise DatasetError(
            f"time column {series.name!r}: {len(bad)} values are missing or not dates "
            f"(e.g. {_examples(bad)})"
        )
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[ns]")  # one unit for everyone downstream (int64 = ns)


def parse_numbers(series: pd.Series, declared: bool) -> pd.Series:
    """A numeric column as float64; refused when too many values are not numbers."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    share = numeric_share(series)
    if share < PARSE_SHARE:
        values = series.dropna().astype(str).str.strip()
        bad = values[pd.to_numeric(values, errors="coerce").isna() & (values != "")]
        how = "declared numeric" if declared else "mostly numeric"
        raise DatasetError(
            f"column {series.name!r} is {how} but {1 - share:.0%} of its values are not numbers "
            f"(e.g. {_examples(bad)}); fix the data or declare it categorical"
        )
    return pd.to_numeric(series.astype("string").str.strip(), errors="coerce").astype("float64")


def parse_flags(series: pd.Series) -> pd.Series:
    """A boolean column as float 1/0/NaN; refused when values do not read as booleans."""
    flags = boolean_values(series)
    bad = series[flags.isna() & series.notna()]
    if len(bad) > (1 - PARSE_SHARE) * series.notna().sum():
        raise DatasetError(
            f"column {series.name!r} is declared boolean but {len(bad)} values are not true/false, "
            f"yes/no, Y/N or 1/0 (e.g. {_examples(bad)})"
        )
    return flags


def validate(df: pd.DataFrame, spec: DatasetSpec) -> tuple[pd.DataFrame, DatasetSchema]:
    """Check ``df`` against ``spec``; return the cleaned table and its schema.

    The clean table keeps ``df``'s index and drops excluded and ground-truth columns; the
    target becomes int 0/1, numeric columns float64, booleans float 1/0/NaN, the time column
    and datetimes naive UTC ``datetime64[ns]``; categoricals and text are left as loaded.
    """
    check_columns(df, spec)
    if len(df) < MIN_ROWS:
        raise DatasetError(f"dataset has {len(df)} rows; at least {MIN_ROWS} are needed to train")
    schema = infer_schema(df, spec)
    clean = df[[c.name for c in schema.columns if c.role != "excluded"]].copy()
    clean[spec.target] = binary_target(df[spec.target])
    if spec.id_column:
        check_ids(df[spec.id_column])
    for column in schema.columns:
        series = df[column.name]
        if column.role == "time":
            clean[column.name] = parse_times(series)
        elif column.role == "numeric":
            clean[column.name] = parse_numbers(series, declared=column.declared)
        elif column.role == "categorical" and not column.declared and numeric_share(series) >= MIXED_SHARE:
            parse_numbers(series, declared=False)  # numbers mixed with words: refused there
        elif column.role == "boolean":
            clean[column.name] = parse_flags(series)
        elif column.role == "datetime":
            clean[column.name] = _parse_datetime(series, declared=column.declared)
    check_informative(clean, schema)
    labels = clean[spec.target]
    schema = schema.model_copy(update={"positive_rate": float(labels.mean())})
    return clean, schema


CONVERSION_RATE_RANGE = (0.05, 0.95)
"""Outside this range a conversion rate is suspicious (seed 003): usually a mislabelled target."""


def conversion_rate_warning(rate: float) -> str | None:
    """A warning when the share of converted leads looks wrong; training still proceeds (a rare
    outcome can be real), but the card and the log say so."""
    low, high = CONVERSION_RATE_RANGE
    if low <= rate <= high:
        return None
    side = "below" if rate < low else "above"
    return (f"conversion rate {rate:.1%} is {side} the usual {low:.0%}-{high:.0%}: check that the target "
            "column marks conversions (1) and non-conversions (0); with this few "
            f"{'positives' if rate < low else 'negatives'} held-out estimates are noisy")


def check_informative(clean: pd.DataFrame, schema: DatasetSchema) -> None:
    """Refuse a table whose every feature is constant or entirely missing: no algorithm can
    learn from it (CatBoost crashes on it, the others would ship a constant score)."""
    features = schema.feature_columns
    if not features:
        raise DatasetError("dataset has no feature columns besides the target, id and time columns")
    if all(clean[name].nunique(dropna=False) <= 1 for name in features):  # missing vs given is a signal
        shown = ", ".join(features[:8]) + (", ..." if len(features) > 8 else "")
        raise DatasetError(
            f"every feature column is constant or entirely missing ({shown}); nothing to learn from"
        )


def _parse_datetime(series: pd.Series, declared: bool) -> pd.Series:
    if declared and datetime_share(series) < PARSE_SHARE:
        raise DatasetError(f"column {series.name!r} is declared datetime but most values are not dates "
                           f"(e.g. {_examples(series.dropna())})")
    parsed = pd.to_datetime(series, errors="coerce", utc=True, format="mixed")
    return parsed.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")

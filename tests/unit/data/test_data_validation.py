"""validate: one clear DatasetError per bad dataset, and what the clean table looks like."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadscore.data import MIN_ROWS, DatasetSpec, validate
from leadscore.errors import DatasetError

ROWS = 150


@pytest.fixture
def leads() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "lead_id": [f"L{i:04d}" for i in range(ROWS)],
        "created_at": pd.date_range("2025-03-01", periods=ROWS, freq="37min").strftime("%Y-%m-%dT%H:%M:%S"),
        "pages": rng.integers(1, 30, ROWS).astype(str),
        "mobile": rng.choice(["Y", "N"], ROWS),
        "source": rng.choice(["web", "referral"], ROWS),
        "converted": rng.choice(["Yes", "No"], ROWS, p=[0.2, 0.8]),
        "true_probability": rng.random(ROWS),
    })


SPEC = DatasetSpec(target="converted", id_column="lead_id", time_column="created_at")


def test_validate_returns_typed_clean_table_when_data_is_good(leads: pd.DataFrame) -> None:
    clean, schema = validate(leads, SPEC)
    assert set(clean["converted"].unique()) == {0, 1}
    assert clean["converted"].dtype == np.int64
    assert clean["pages"].dtype == np.float64
    assert clean["mobile"].isin([0.0, 1.0]).all()
    assert str(clean["created_at"].dtype) == "datetime64[ns]"
    assert "true_probability" not in clean.columns
    assert clean.index.equals(leads.index)
    assert schema.positive_rate == pytest.approx((leads["converted"] == "Yes").mean())


@pytest.mark.parametrize(("field", "value", "message"), [
    ("target", "outcome", "target 'outcome' is not in the dataset"),
    ("id_column", "uuid", "id column 'uuid' is not in the dataset"),
    ("time_column", "when", "time column 'when' is not in the dataset"),
    ("exclude", ["ghost"], "excluded column 'ghost' is not in the dataset"),
    ("post_outcome", ["later"], "post-outcome column 'later' is not in the dataset"),
    ("types", {"colour": "categorical"}, "declared column 'colour' is not in the dataset"),
])
def test_validate_names_unknown_column_when_spec_mentions_it(
    leads: pd.DataFrame, field: str, value: object, message: str
) -> None:
    with pytest.raises(DatasetError, match=message):
        validate(leads, SPEC.model_copy(update={field: value}))


@pytest.mark.parametrize(("labels", "message"), [
    (["won", "lost", "open"], r"target 'converted' is not binary: saw 3 distinct values"),
    (["won", "lost"], r"is not binary: saw 2 distinct values \('won', 'lost'\)"),
    (["yes"], r"target 'converted' has a single class \(1\) in 150 rows"),
    ([0], r"has a single class \(0\)"),
])
def test_validate_refuses_target_when_not_binary_or_single_class(
    leads: pd.DataFrame, labels: list, message: str
) -> None:
    leads["converted"] = [labels[i % len(labels)] for i in range(ROWS)]
    with pytest.raises(DatasetError, match=message):
        validate(leads, SPEC)


@pytest.mark.parametrize("pair", [("yes", "no"), ("TRUE", "false"), (1, 0), ("Y", "N"), (True, False), ("1", "0")])
def test_validate_maps_target_when_spelled_any_common_way(leads: pd.DataFrame, pair: tuple) -> None:
    positive, negative = pair
    leads["converted"] = [positive if i % 3 == 0 else negative for i in range(ROWS)]
    clean, _ = validate(leads, SPEC)
    assert clean["converted"].tolist() == [int(i % 3 == 0) for i in range(ROWS)]


def test_validate_refuses_target_with_missing_labels(leads: pd.DataFrame) -> None:
    leads["converted"] = leads["converted"].where(leads.index % 10 != 0)
    with pytest.raises(DatasetError, match="target 'converted' has 15 missing values"):
        validate(leads, SPEC)


def test_validate_refuses_dataset_when_fewer_than_minimum_rows(leads: pd.DataFrame) -> None:
    with pytest.raises(DatasetError, match=f"dataset has 99 rows; at least {MIN_ROWS} are needed"):
        validate(leads.head(99), SPEC)


def test_validate_refuses_numeric_column_when_mostly_garbage(leads: pd.DataFrame) -> None:
    leads["pages"] = [str(i) if i % 4 else "n/a" for i in range(ROWS)]
    with pytest.raises(DatasetError, match=r"column 'pages' is mostly numeric but 25% of its values are not numbers"):
        validate(leads, SPEC)


def test_validate_refuses_declared_numeric_column_when_full_of_garbage(leads: pd.DataFrame) -> None:
    leads["source"] = ["abc", "12", "def"] * (ROWS // 3)
    spec = SPEC.model_copy(update={"types": {"source": "numeric"}})
    with pytest.raises(DatasetError, match=r"column 'source' is declared numeric but 67% .* \(e\.g\. 'abc', 'def'\)"):
        validate(leads, spec)


def test_validate_keeps_numeric_column_when_few_values_are_garbage(leads: pd.DataFrame) -> None:
    leads["pages"] = [str(i) if i != 7 else "?" for i in range(ROWS)]
    clean, schema = validate(leads, SPEC)
    assert schema.column("pages").role == "numeric"
    assert clean["pages"].isna().sum() == 1


def test_validate_refuses_duplicate_lead_ids(leads: pd.DataFrame) -> None:
    leads.loc[5, "lead_id"] = "L0001"
    with pytest.raises(DatasetError, match=r"id column 'lead_id' has 1 duplicate ids \(e\.g\. 'L0001'\)"):
        validate(leads, SPEC)


def test_validate_refuses_missing_lead_ids(leads: pd.DataFrame) -> None:
    leads.loc[3, "lead_id"] = None
    with pytest.raises(DatasetError, match="id column 'lead_id' has 1 missing values"):
        validate(leads, SPEC)


def test_validate_refuses_time_column_when_values_do_not_parse(leads: pd.DataFrame) -> None:
    leads.loc[[2, 9], "created_at"] = ["yesterday", None]
    with pytest.raises(DatasetError, match=r"time column 'created_at': 2 values are missing or not dates"):
        validate(leads, SPEC)


def test_validate_converts_aware_times_to_naive_utc(leads: pd.DataFrame) -> None:
    leads["created_at"] = "2025-03-01T12:00:00+02:00"
    clean, _ = validate(leads, SPEC)
    assert clean["created_at"].iloc[0] == pd.Timestamp("2025-03-01 10:00:00")


def test_validate_gives_nanosecond_times_when_input_has_other_unit(leads: pd.DataFrame) -> None:
    leads["created_at"] = pd.to_datetime(leads["created_at"]).astype("datetime64[s]")
    clean, _ = validate(leads, SPEC)
    assert str(clean["created_at"].dtype) == "datetime64[ns]"
    assert clean["created_at"].iloc[0] == pd.Timestamp("2025-03-01 00:00:00")


def test_validate_refuses_declared_boolean_column_when_values_are_not_flags(leads: pd.DataFrame) -> None:
    leads["source"] = ["yes", "no", "maybe"] * (ROWS // 3)
    spec = SPEC.model_copy(update={"types": {"source": "boolean"}})
    with pytest.raises(DatasetError, match=r"column 'source' is declared boolean but 50 values are not true/false"):
        validate(leads, spec)


def test_validate_refuses_declared_datetime_column_when_values_are_not_dates(leads: pd.DataFrame) -> None:
    spec = SPEC.model_copy(update={"types": {"source": "datetime"}})
    with pytest.raises(DatasetError, match=r"column 'source' is declared datetime but most values are not dates"):
        validate(leads, spec)


def test_a_shard_is_refused_alone_for_a_missing_column_or_a_bad_target_but_not_for_one_class() -> None:
    from leadscore.data.validation import check_shard

    spec = DatasetSpec(target="converted", id_column="lead_id")
    check_shard(pd.DataFrame({"lead_id": [1, 2], "converted": [0, 0], "x": [1.0, 2.0]}), spec)  # one class: fine
    with pytest.raises(DatasetError, match="id column 'lead_id' is not in the dataset"):
        check_shard(pd.DataFrame({"converted": [0, 1]}), spec)
    with pytest.raises(DatasetError, match="target 'converted' is not binary"):
        check_shard(pd.DataFrame({"lead_id": [1, 2], "converted": [0, 2]}), spec)
    with pytest.raises(DatasetError, match="target 'converted' has 1 missing values"):
        check_shard(pd.DataFrame({"lead_id": [1, 2], "converted": [0, None]}), spec)

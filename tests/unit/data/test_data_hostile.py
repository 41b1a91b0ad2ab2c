"""Hostile datasets get one line and the dataset exit code, before any training (issue 19,
trainer items 11, 12, 14 and 15): nested Parquet columns, only constant features, numbers
mixed with words, UTF-16 or non-UTF-8 CSVs, numpy reprs in messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leadscore.cli.main import main
from leadscore.data import DatasetSpec, load_dataset, validate
from leadscore.errors import DatasetError

SPEC = DatasetSpec(target="converted", id_column="lead_id")


def _frame(rows: int = 400, **columns: object) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    base = {
        "lead_id": [f"L{i}" for i in range(rows)],
        "pages": rng.integers(0, 20, rows),
        "converted": rng.integers(0, 2, rows),
    }
    return pd.DataFrame({**base, **columns})


def test_nested_parquet_columns_are_refused_at_once_in_one_line(tmp_path: Path) -> None:
    rows = 15_000
    table = pa.table({
        "lead_id": [f"L{i}" for i in range(rows)],
        "tags": [[f"t{i % 7}", "x"] for i in range(rows)],
        "address": [{"city": "Paris", "zip": str(i)} for i in range(rows)],
        "converted": [i % 2 for i in range(rows)],
    })
    path = tmp_path / "nested.parquet"
    pq.write_table(table, path)
    with pytest.raises(DatasetError) as refused:  # refused from the file's schema, before any inference
        load_dataset(str(path))
    message = str(refused.value)
    assert "\n" not in message
    assert "nested columns are not supported: tags (list<element: string>), address (struct<" in message


def test_cli_refuses_nested_parquet_with_the_dataset_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"lead_id": ["a", "b"], "tags": [[1], [2]], "converted": [0, 1]}), path)
    assert main(["data", "profile", "--data", str(path), "--target", "converted"]) == DatasetError.exit_code
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nested columns are not supported: tags" in err


@pytest.mark.parametrize(
    "features",
    [{"pages": 3}, {"pages": np.nan, "source": None}, {"pages": 1.0, "source": "web"}],
)
def test_only_constant_or_empty_features_are_refused_up_front(features: dict[str, object]) -> None:
    frame = _frame(**features)
    with pytest.raises(DatasetError, match="every feature column is constant or entirely missing"):
        validate(frame, SPEC)


def test_a_constant_feature_beside_an_informative_one_is_kept() -> None:
    _, schema = validate(_frame(source="web"), SPEC)
    assert {"pages", "source"} <= set(schema.feature_columns)


def test_cli_refuses_constant_features_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "flat.csv"
    _frame(pages=5).to_csv(path, index=False)
    assert main(["data", "profile", "--data", str(path), "--target", "converted", "--id-col", "lead_id"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: every feature column is constant") and "\n" not in err


@pytest.mark.parametrize("numbers", [0.5, 0.3, 0.9])
def test_numbers_mixed_with_a_word_are_refused_whatever_the_share(numbers: float) -> None:
    rows = 400
    cut = int(rows * numbers)
    mixed = [str(i) for i in range(cut)] + ["unknown"] * (rows - cut)
    with pytest.raises(DatasetError, match=r"column 'income' is mostly numeric but .* are not numbers"):
        validate(_frame(income=mixed), SPEC)


def test_words_with_a_few_numbers_stay_categorical() -> None:
    rows = 400
    levels = ["web", "referral", "partner"] * (rows // 3) + ["7"] * (rows - 3 * (rows // 3))
    _, schema = validate(_frame(source=levels), SPEC)
    assert schema.column("source").role == "categorical"


def test_declaring_a_mixed_column_categorical_keeps_it() -> None:
    mixed = [str(i) for i in range(200)] + ["unknown"] * 200
    spec = DatasetSpec(target="converted", id_column="lead_id", types={"income": "categorical"})
    _, schema = validate(_frame(income=mixed), spec)
    assert schema.column("income").role == "categorical"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig"])
def test_csv_in_utf16_or_with_a_bom_is_read(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "leads.csv"
    path.write_bytes(_frame(source=["Zürich"] * 400).to_csv(index=False).encode(encoding))
    frame = load_dataset(str(path))
    assert list(frame.columns) == ["lead_id", "pages", "converted", "source"]
    assert frame["source"].iloc[0] == "Zürich"


def test_csv_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(_frame(source=["Zürich"] * 400).to_csv(index=False).encode("latin-1"))
    with pytest.raises(DatasetError, match=r"not UTF-8 text \(byte 0xfc at offset \d+\); save the file as UTF-8"):
        load_dataset(str(path))


def test_not_binary_message_shows_values_not_numpy_reprs() -> None:
    frame = _frame()
    frame.loc[0, "converted"] = 2
    with pytest.raises(DatasetError) as refused:
        validate(frame, SPEC)
    assert "np." not in str(refused.value)
    assert "saw 3 distinct values (2, " in str(refused.value)

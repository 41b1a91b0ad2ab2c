"""load_dataset: delimiters, Parquet, and one-line errors for missing or empty files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from leadscore.data import load_dataset
from leadscore.data.loading import sniff_delimiter
from leadscore.errors import DatasetError

ROWS = pd.DataFrame({"lead_id": ["a", "b", "c"], "pages": [1, 2, 3], "note": ["x", "y z", "w"]})


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_load_dataset_sniffs_delimiter_when_not_given(tmp_path: Path, delimiter: str) -> None:
    path = tmp_path / "leads.csv"
    ROWS.to_csv(path, sep=delimiter, index=False)
    frame = load_dataset(str(path))
    assert list(frame.columns) == ["lead_id", "pages", "note"]
    assert frame["pages"].tolist() == [1, 2, 3]


def test_load_dataset_uses_given_delimiter_when_sniffing_would_differ(tmp_path: Path) -> None:
    path = tmp_path / "leads.txt"
    path.write_text("a;b|c\n1;2|3\n4;5|6\n")
    assert list(load_dataset(str(path), delimiter="|").columns) == ["a;b", "c"]


def test_load_dataset_reads_parquet_when_extension_or_magic_says_so(tmp_path: Path) -> None:
    path = tmp_path / "leads.bin"
    ROWS.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(load_dataset(str(path)), ROWS)
    pd.testing.assert_frame_equal(load_dataset(str(path), format="parquet"), ROWS)


def test_load_dataset_names_file_when_missing(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(DatasetError, match=r"nope\.csv: cannot read the file") as info:
        load_dataset(str(path))
    assert "\n" not in str(info.value)


def test_load_dataset_refuses_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("\n  \n")
    with pytest.raises(DatasetError, match="the file is empty"):
        load_dataset(str(path))


def test_load_dataset_refuses_header_only_csv(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("lead_id,converted\n")
    with pytest.raises(DatasetError, match="header but no rows"):
        load_dataset(str(path))


def test_load_dataset_refuses_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 definitely not parquet")
    with pytest.raises(DatasetError, match="not a readable Parquet file"):
        load_dataset(str(path))


def test_sniff_delimiter_picks_consistent_splitter_and_defaults_to_comma() -> None:
    assert sniff_delimiter("a;b;c\n1;2;3\n") == ";"
    assert sniff_delimiter('"x,y";b\n"1,5";2\n"2,5";3\n') == ";"  # commas inside quotes do not count
    assert sniff_delimiter("single\n1\n2\n") == ","  # one column: nothing splits, CSV's default

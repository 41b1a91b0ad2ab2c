"""A data set as shards: the files the Ray engine reads, one task each."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadscore.data.shards import list_shards
from leadscore.errors import DatasetError


def test_a_directorys_csv_and_parquet_files_are_its_shards_in_name_order(tmp_path: Path) -> None:
    for name in ("b.parquet", "a.csv", "_SUCCESS", ".a.csv.crc", "notes.md", "sub/c.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert list_shards(str(tmp_path)) == [str(tmp_path / n) for n in ("a.csv", "b.parquet", "sub/c.csv")]


def test_one_file_is_one_shard_whatever_its_name(tmp_path: Path) -> None:
    (tmp_path / "leads.data").write_text("x")
    assert list_shards(str(tmp_path / "leads.data")) == [str(tmp_path / "leads.data")]


@pytest.mark.parametrize("make", [lambda p: None, lambda p: (p.mkdir(), (p / "readme.md").write_text("x"))])
def test_no_shard_is_a_dataset_error_naming_the_place(tmp_path: Path, make) -> None:
    where = tmp_path / "leads"
    make(where)
    with pytest.raises(DatasetError, match=rf"dataset {where}: no CSV or Parquet shard there"):
        list_shards(str(where))

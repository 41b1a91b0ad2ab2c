"""load_dataset and ``data synth`` against a real S3 server (MinIO on loopback)."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from leadscore.cli import main
from leadscore.data import load_dataset
from leadscore.errors import DatasetError
from leadscore.store import artifacts

pytestmark = pytest.mark.integration


def test_load_dataset_reads_semicolon_csv_from_s3(s3_bucket: str) -> None:
    frame = pd.DataFrame({"lead_id": range(5), "y": ["yes", "no", "no", "yes", "no"]})
    uri = f"s3://{s3_bucket}/raw/leads.csv"
    artifacts.write_bytes(uri, frame.to_csv(sep=";", index=False).encode())
    pd.testing.assert_frame_equal(load_dataset(uri), frame)


def test_data_synth_writes_parquet_to_s3_that_loads_back(s3_bucket: str) -> None:
    uri = f"s3://{s3_bucket}/synthetic/pc.parquet"
    assert main(["data", "synth", "--vertical", "pc", "--rows", "200", "--seed", "8", "--output", uri]) == 0
    frame = load_dataset(uri)
    expected = pd.read_parquet(io.BytesIO(artifacts.read_bytes(uri)))
    pd.testing.assert_frame_equal(frame, expected)
    assert len(frame) == 200 and "true_probability" in frame.columns


def test_load_dataset_names_object_when_missing_on_s3(s3_bucket: str) -> None:
    uri = f"s3://{s3_bucket}/nothing/here.csv"
    with pytest.raises(DatasetError, match=r"here\.csv: cannot read the object") as info:
        load_dataset(uri)
    assert "\n" not in str(info.value)

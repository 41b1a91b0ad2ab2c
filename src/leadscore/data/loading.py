"""Read a lead table from a local path or ``s3://bucket/key``: CSV (any common delimiter) or Parquet.

Bytes come through ``leadscore.store.artifacts.read_bytes`` (MinIO client for ``s3://``,
endpoint and credentials from ``AWS_ENDPOINT_URL`` / ``AWS_ACCESS_KEY_ID`` / ... as in
``leadscore.store.s3`` and docs/data.md), so the project has one S3 code path.
"""

from __future__ import annotations

import csv
import io

import pandas as pd

from leadscore.api.leadscoringmodel import DataFormat
from leadscore.errors import DatasetError, StorageError
from leadscore.store import artifacts
from leadscore.store.s3 import is_s3_uri

DELIMITERS = (",", ";", "\t", "|")
_PARQUET_MAGIC = b"PAR1"


def detect_format(uri: str, head: bytes) -> DataFormat:
    """Parquet by extension or magic bytes, CSV otherwise."""
    if uri.lower().endswith((".parquet", ".pq")) or head.startswith(_PARQUET_MAGIC):
        return "parquet"
    return "csv"


def sniff_delimiter(sample: str) -> str:
    """The delimiter among , ; tab | that splits the first lines most consistently."""
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        lines = [line for line in sample.splitlines()[:20] if line.strip()]
        return max(DELIMITERS, key=lambda d: min((line.count(d) for line in lines), default=0))


def load_dataset(uri: str, *, format: DataFormat | None = None, delimiter: str | None = None) -> pd.DataFrame:
    """The whole table; a missing, unreadable or empty file is a one-line ``DatasetError``."""
    try:
        data = artifacts.read_bytes(uri)
    except StorageError as exc:
        where = "object" if is_s3_uri(uri) else "file"
        raise DatasetError(f"dataset {uri}: cannot read the {where} ({exc})") from exc
    if not data.strip():
        raise DatasetError(f"dataset {uri}: the file is empty")
    kind = format or detect_format(uri, data[:4])
    if kind == "parquet":
        return _read_parquet(uri, data)
    if kind != "csv":
        raise DatasetError(f"dataset {uri}: unknown format {kind!r} (expected csv or parquet)")
    return _read_csv(uri, data, delimiter)


def _read_parquet(uri: str, data: bytes) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # pyarrow raises several unrelated types for a corrupt file
        raise DatasetError(f"dataset {uri}: not a readable Parquet file ({exc})") from exc
    nested = [f"{field.name} ({field.type})" for field in table.schema if field.type.num_fields > 0]
    if nested:
        raise DatasetError(
            f"dataset {uri}: nested columns are not supported: {', '.join(nested[:5])}"
            f"{', ...' if len(nested) > 5 else ''}; flatten them into one scalar column per value"
        )
    frame = table.to_pandas()
    if frame.empty:
        raise DatasetError(f"dataset {uri}: the file has no rows")
    return frame


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode_text(uri: str, data: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 (with a BOM, or detected by its NUL bytes);
    anything else is refused saying so, instead of a header of replacement characters."""
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    head = data[:4096]
    if encoding is None and head.count(b"\x00") > len(head) // 4:
        encoding = "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
    try:
        return data.decode(encoding or "utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"dataset {uri}: not {encoding or 'UTF-8'} text (byte {data[exc.start]:#04x} at offset {exc.start}); "
            "save the file as UTF-8"
        ) from None


def _read_csv(uri: str, data: bytes, delimiter: str | None) -> pd.DataFrame:
    text = decode_text(uri, data)
    sep = delimiter or sniff_delimiter(text[:65536])
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"dataset {uri}: not a readable CSV with delimiter {sep!r} ({first})") from exc
    if frame.empty:
        raise DatasetError(f"dataset {uri}: the file has a header but no rows")
    return frame

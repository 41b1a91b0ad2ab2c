"""A data set as shards: one file, or every CSV/Parquet file under a directory or ``s3://`` prefix.

The Ray engine (``leadscore train|score --engine ray``) reads one shard per task, each with
``load_dataset`` (the single-node reader: same delimiter sniffing, same dtypes, same errors), so a
shard parses exactly as the whole file would on one node.
"""

from __future__ import annotations

from leadscore.errors import DatasetError, StorageError
from leadscore.store import artifacts

SHARD_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq")


def is_shard(uri: str) -> bool:
    """A data file by its name; hidden files (``.part``, ``_SUCCESS`` markers) are not."""
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    return not name.startswith((".", "_")) and name.lower().endswith(SHARD_SUFFIXES)


def list_shards(uri: str) -> list[str]:
    """The shards of ``uri`` in name order; none is a ``DatasetError`` naming what was looked at."""
    try:
        files = artifacts.list_files(uri)
    except StorageError as exc:
        raise DatasetError(f"dataset {uri}: cannot list the shards ({exc})") from exc
    shards = files if files == [uri] else [file for file in files if is_shard(file)]
    if not shards:
        found = f"{len(files)} other files" if files else "nothing"
        raise DatasetError(f"dataset {uri}: no CSV or Parquet shard there ({found}; names ending in "
                           f"{', '.join(SHARD_SUFFIXES)})")
    return shards

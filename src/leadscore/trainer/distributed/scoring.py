"""``leadscore score --engine ray``: a data set's shards scored in parallel by Ray Data's
``map_batches``, each by ``leadscore.trainer.batch.score_rows`` (the single-node code), and written
as the one file ``leadscore score`` writes.

One row of the Ray data set is one shard: a worker reads it with ``load_dataset``, keeps the rows
the selection keeps, scores them and hands back its output table (Arrow IPC bytes) with the counts.
The driver streams those tables, in shard order, into a temporary file beside the output and moves
it into place only when every shard is scored: a failure leaves no partial output.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadscore.api.leadscoringmodel import ScoringSpec
from leadscore.data import load_dataset
from leadscore.data.selection import RowSelection, select_rows
from leadscore.data.shards import list_shards
from leadscore.errors import DatasetError, LeadscoreError
from leadscore.store import artifacts
from leadscore.store.s3 import is_s3_uri
from leadscore.trainer.batch import PublishedModel, ScoreRun, score_rows, tier_bounds
from leadscore.trainer.distributed import cluster
from leadscore.trainer.distributed.shards import map_shards


class ShardScorer:
    """One Ray Data actor: opens the model once, then scores whole shards (``batch_size=1``)."""

    def __init__(self, model_uri: str, scoring: str | None, selection: RowSelection | None, batch_size: int,
                 threads: int) -> None:
        self.model = PublishedModel.open(model_uri, threads=threads)
        self.scoring = ScoringSpec.model_validate_json(scoring) if scoring else None
        self.bounds = tier_bounds(self.model, self.scoring)
        self.selection = selection
        self.batch_size = batch_size

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        import pyarrow as pa

        out: dict[str, list[Any]] = {"shard": [], "table": [], "dataset_rows": [], "tiers": [], "engines": [],
                                     "error": []}
        for shard in batch["shard"]:
            row: dict[str, Any] = {"shard": str(shard), "table": b"", "dataset_rows": 0, "tiers": "{}",
                                   "engines": self.model.engines.summary(), "error": ""}
            try:
                dataset = load_dataset(str(shard))
                frame = select_rows(dataset, self.selection, str(shard)) if self.selection is not None else dataset
                table, tiers = score_rows(self.model, self.scoring, self.bounds, frame, self.batch_size)
            except LeadscoreError as exc:  # Ray keeps only a task error's text: hand the refusal back as data
                row["error"] = cluster.error_text(exc)
            else:
                sink = pa.BufferOutputStream()
                arrow = pa.Table.from_pandas(table, preserve_index=False)
                with pa.ipc.new_stream(sink, arrow.schema) as writer:
                    writer.write_table(arrow)
                row.update(table=sink.getvalue().to_pybytes(), dataset_rows=len(dataset), tiers=json.dumps(tiers))
            for key, value in row.items():
                out[key].append(value)
        return out


class _ScoresFile:
    """The output, written table by table to a temporary file and published whole (``put_file``):
    beside the output locally (one rename), in the temp directory for ``s3://`` (one upload)."""

    def __init__(self, output: str) -> None:
        self.output = output
        self.parquet = output.lower().endswith(".parquet")
        if is_s3_uri(output):
            handle, name = tempfile.mkstemp(prefix="leadscore-scores-", suffix=Path(output).suffix)
            os.close(handle)
            self.path = Path(name)
        else:
            target = Path(output)
            target.parent.mkdir(parents=True, exist_ok=True)
            self.path = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
        self._writer: Any = None
        self._schema: Any = None
        self.rows = 0

    def append(self, table: pd.DataFrame, shard: str) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.parquet:
            try:
                arrow = pa.Table.from_pandas(table, schema=self._schema, preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise DatasetError(f"dataset shard {shard}: its scores do not fit the first shard's columns "
                                   f"({exc}); give every shard the same column types") from None
            if self._writer is None:
                self._schema = arrow.schema
                self._writer = pq.ParquetWriter(self.path, self._schema)
            self._writer.write_table(arrow)
        else:
            table.to_csv(self.path, mode="a", header=not self.path.exists(), index=False)
        self.rows += len(table)

    def publish(self) -> None:
        if self._writer is not None:
            self._writer.close()
        artifacts.put_file(self.output, self.path)

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self.path.unlink(missing_ok=True)


def score_shards(model_uri: str, data_uri: str, output: str, batch_size: int, scoring: ScoringSpec | None = None,
                 selection: RowSelection | None = None, address: str | None = None,
                 progress: Callable[[int, int, int], None] | None = None) -> ScoreRun:
    """Score every shard of ``data_uri`` on the Ray cluster at ``address`` (``leadscore.trainer.
    distributed.cluster.session``) into ``output``; ``progress(shards done, shards, leads written)``
    after each shard. Same rows, same columns, same scores as ``batch.score_file``; the run's
    ``seconds`` are the cluster phase's wall time (reading, scoring and streaming the shards)."""
    import pyarrow as pa

    model = PublishedModel.open(model_uri)  # refuse a bad artifact or tiers before the cluster is asked
    tier_bounds(model, scoring)
    shards = list_shards(data_uri)
    with cluster.session(address):
        threads = 1
        scored = map_shards(shards, ShardScorer, {"model_uri": model_uri, "selection": selection,
                                                  "scoring": scoring.model_dump_json() if scoring else None,
                                                  "batch_size": batch_size, "threads": threads}, threads)
        sink = _ScoresFile(output)
        dataset_rows, tiers, engines = 0, dict.fromkeys(_tier_names(), 0), set()
        started = time.perf_counter()
        try:
            for done, row in enumerate(scored, start=1):
                table = pa.ipc.open_stream(row["table"]).read_all().to_pandas()
                sink.append(table, row["shard"])
                dataset_rows += int(row["dataset_rows"])
                for tier, count in json.loads(row["tiers"]).items():
                    tiers[tier] += count
                engines.add(row["engines"])
                if progress is not None:
                    progress(done, len(shards), sink.rows)
            seconds = time.perf_counter() - started
            sink.publish()
        except BaseException:
            sink.discard()
            raise
    own = model.engines.summary()
    model.engines.notes.extend(f"a Ray worker scored on {other}" for other in sorted(engines - {own}))
    return ScoreRun(rows=sink.rows, dataset_rows=dataset_rows, seconds=seconds, model_version=model.artifact.version,
                    engines=model.engines, tiers=tiers)


def _tier_names() -> tuple[str, ...]:
    from leadscore.scoring import TIERS

    return tuple(TIERS)

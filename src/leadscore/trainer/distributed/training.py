"""``leadscore train --engine ray``: what runs on the Ray cluster, and what does not (yet).

- **Reading**: every shard is read on the cluster (``shards.map_shards``, as ``score --engine
  ray`` does) with ``load_dataset`` and refused on its own (``check_shard``: a named column
  missing, a target value missing or not binary) naming the shard; the shards then meet on the
  driver, in shard order, and the single-node pipeline validates, splits, guards against leakage
  and fits the feature pipeline on them exactly as one node would (same ``feature_spec.json``).
- **Boosting**: XGBoost and LightGBM train data-parallel on the cluster's CPUs (``boosting``) for
  every search trial, the cross-fitted selection margins and the final refit; ``--parallel-trials
  N`` fits N search trials at once (``tuning.tune``'s concurrency), each on 1/N of the CPUs.
- **On the driver**: the LR baseline (every training trains it: it is the yardstick), selection,
  calibration, ONNX export and its parity check, as on one node.
- **Refused**: every other algorithm (``check_algorithms``), by name, before the cluster is joined.

docs/scale.md says what this buys (time) and what it does not yet (the driver holds the data).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from leadscore.api.leadscoringmodel import DataFormat
from leadscore.data import load_dataset
from leadscore.data.schema import DatasetSpec
from leadscore.data.shards import list_shards
from leadscore.data.validation import check_shard
from leadscore.errors import ConfigError, DatasetError, LeadscoreError
from leadscore.trainer.algorithms import ALGORITHMS, BASELINE, Algorithm
from leadscore.trainer.card import EngineCard
from leadscore.trainer.distributed import cluster
from leadscore.trainer.distributed.boosting import RayLightGBM, RayXGBoost
from leadscore.trainer.distributed.shards import ERROR, map_shards

ON_RAY: dict[str, type[RayXGBoost | RayLightGBM]] = {"xgboost": RayXGBoost, "lightgbm": RayLightGBM}
"""Trained data-parallel on the cluster, by their Ray versions."""
ON_DRIVER = (BASELINE,)
"""Trained on the driver over every training row (the baseline: a linear model, cheap)."""


def check_algorithms(names: list[str]) -> None:
    """A ``ConfigError`` naming every asked-for algorithm that cannot train on Ray."""
    refused = [name for name in dict.fromkeys(names) if name not in (*ON_RAY, *ON_DRIVER)]
    if refused:
        raise ConfigError(f"--algorithms: {', '.join(refused)} cannot train with --engine ray (data-parallel on Ray: "
                          f"{', '.join(ON_RAY)}; {BASELINE}, the baseline, on the driver); e.g. --algorithms "
                          f"{','.join((BASELINE, *ON_RAY))}, or train on one node")


def on_ray(algorithms: list[Algorithm], parallel_trials: int = 1,
           note: Callable[[str], None] | None = None) -> list[Algorithm]:
    """The resolved algorithms with the boosters swapped for their Ray versions, as many workers
    as the joined cluster has CPUs, ``parallel_trials`` search trials of each in flight (each on
    its share of the CPUs; no more than the cluster has CPUs, ``note`` says so when it clamps)."""
    import ray

    workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
    in_flight = min(parallel_trials, workers)
    if in_flight < parallel_trials and note is not None:
        note(f"--parallel-trials {parallel_trials}: the Ray cluster has {workers} CPUs, so {in_flight} trials "
             "run at once (one CPU each at least)")
    return [ON_RAY[a.name](workers, in_flight) if a.name in ON_RAY else a for a in algorithms]


def engine_card(algorithms: list[Algorithm]) -> EngineCard:
    """The model card's record of where each trained algorithm ran on Ray, and which cannot."""
    data_parallel = tuple(ON_RAY.values())
    boosters = [a for a in algorithms if isinstance(a, data_parallel)]
    return EngineCard(engine="ray", data_parallel={a.name: a.workers for a in boosters},
                      parallel_trials=max((a.concurrent_trials for a in boosters), default=1),
                      on_driver=[a.name for a in algorithms if not isinstance(a, data_parallel)],
                      not_available=[name for name in ALGORITHMS if name not in (*ON_RAY, *ON_DRIVER)])


class ShardReader:
    """One Ray Data actor: reads whole shards (``load_dataset``) and checks each (``check_shard``)."""

    def __init__(self, spec: str, data_format: DataFormat | None) -> None:
        self.spec = DatasetSpec.model_validate_json(spec)
        self.format = data_format

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"frame": [], ERROR: []}
        for shard in batch["shard"]:
            frame, error = b"", ""
            try:
                loaded = load_dataset(str(shard), format=self.format)
                try:
                    check_shard(loaded, self.spec)
                except DatasetError as exc:
                    raise DatasetError(f"dataset shard {shard}: {exc}") from None
                frame = pickle.dumps(loaded, protocol=5)  # the frame as read: dtypes exactly the reader's
            except LeadscoreError as exc:
                error = cluster.error_text(exc)
            out["frame"].append(frame)
            out[ERROR].append(error)
        return out


def read_shards(data: str, spec: DatasetSpec, data_format: DataFormat | None = None) -> pd.DataFrame:
    """Every shard of ``data`` read and checked on the cluster, concatenated in shard order (needs
    a joined Ray); the first refused shard is the error."""
    shards = list_shards(data)
    kwargs = {"spec": spec.model_dump_json(), "data_format": data_format}
    frames = [pickle.loads(row["frame"]) for row in map_shards(shards, ShardReader, kwargs)]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

"""In-process scoring speed of the shipped model (the engines ``leadscore.engines`` chose at load)
against ``model.onnx`` on onnxruntime and against the native libraries, per batch size.

    .venv/bin/python bench/engine_bench.py [--rows 30000] [--rounds 5]

Trains real artifacts through the trainer (one trial each): the ensemble of every algorithm and
each booster alone. For batch sizes 1, 1000 and 10k of freshly encoded leads it times three peers,
racing them (``leadscore.engines.choice.race``: one call each in turn, round after round, each
round led by another peer) so a loaded machine slows them alike, and keeps each peer's fastest
call; ``onnxruntime`` raced against itself gives the run's noise floor:

* ``shipped``: ``Engines.predict`` as the predictor opens it (verified against model.onnx);
* ``onnxruntime``: the predictor's ``OnnxScorer`` on ``model.onnx`` (the path before engines);
* ``native``: every member on its own library's predict (numpy for the baseline), then the
  numpy blend and calibration.

A model with a LightGBM member has a second goal: at 10k rows, at least ``LIGHTGBM_GOAL`` times
its native ``predict`` (reached only with the ``fast`` extra: ``lleaves``).

Prints a table, the engine chosen per member and class, and writes ``bench/results/engines.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from leadscore.published import PublishedArtifact

RESULTS = Path(__file__).parent / "results" / "engines.json"
BATCHES = (1, 1000, 10_000)
ROUNDS = {1: (3000, 2.0), 1000: (200, 3.0), 10_000: (40, 4.0)}  # per batch: at most N rounds, S seconds per peer
MODELS = {"ensemble": ["lr", "xgboost", "lightgbm", "catboost"], "xgboost": ["xgboost"],
          "lightgbm": ["lightgbm"], "catboost": ["catboost"]}
MET = 1.0
LIGHTGBM_GOAL = 1.5
NOISE = 0.95  # between NOISE and MET: "within noise" (a loaded machine moves a timing by a few %)


def native_scorer(artifact: PublishedArtifact, threads: int) -> Callable[[np.ndarray], np.ndarray]:
    from leadscore.engines.members import FASTER, NATIVE, NUMPY, Tail

    loaders = [FASTER[m.algorithm].get(NATIVE) or FASTER[m.algorithm][NUMPY] for m in artifact.card.members]
    margins = [load(artifact.path / m.native_file, threads) for load, m in zip(loaders, artifact.card.members,
                                                                                strict=True)]
    tail = Tail(artifact.card)
    return lambda x: tail([margin(x) for margin in margins])


def optional_versions() -> dict[str, str]:
    """The ``fast`` extra's compiler, when installed (what a ``lleaves`` row was measured with)."""
    from importlib import metadata

    found = {}
    for name in ("lleaves", "llvmlite"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def train_artifact(name: str, algorithms: list[str], data: Path, out: Path, seed: int) -> Path:
    from leadscore.data import DatasetSpec, synth
    from leadscore.trainer.config import TrainConfig
    from leadscore.trainer.pipeline import train

    config = TrainConfig(data=str(data), output=str(out / name), trials=1, seed=seed, device="cpu",
                         algorithms=algorithms, ensemble=len(algorithms) > 1, version="v1",
                         mlflow_uri=f"sqlite:///{out / 'mlflow.db'}",
                         dataset=DatasetSpec(target=synth.TARGET, id_column=synth.ID_COLUMN,
                                             time_column=synth.TIME_COLUMN))
    train(config)
    return out / name


def bench_model(name: str, path: Path, leads: pd.DataFrame, scale: float) -> dict[str, Any]:
    from leadscore.engines import SINGLE, choose
    from leadscore.engines.choice import race
    from leadscore.features.spec import frame_columns
    from leadscore.predictor.engine import SMALL_BATCH, OnnxScorer, default_threads
    from leadscore.published import PublishedArtifact

    artifact = PublishedArtifact.open(str(path))
    threads = default_threads()
    # as the predictor opens it: an ensemble with agreement answers its members' margins too
    members = artifact.uncertainty is not None and len(artifact.uncertainty.members) > 1
    onnx = OnnxScorer(artifact.onnx_path, device="cpu", threads=threads, members=members)
    started = time.perf_counter()
    engines = choose(artifact.path, artifact.card, onnx.predict_members, threads=threads, small=SMALL_BATCH)
    load_seconds = time.perf_counter() - started
    native = {SINGLE: native_scorer(artifact, 1), "batch": native_scorer(artifact, threads)}
    x_all = artifact.feature_spec.transform_columns(frame_columns(leads), len(leads))
    rows = []
    for batch in BATCHES:
        x = np.ascontiguousarray(x_all[:batch])
        native_here = native[SINGLE if batch < SMALL_BATCH else "batch"]
        # "onnxruntime again" is the same scorer as "onnxruntime": their ratio is this run's noise floor.
        peers = {("shipped",): engines.scored, ("onnxruntime",): onnx.predict_members, ("native",): native_here,
                 ("onnxruntime again",): onnx.predict_members}
        (shipped, margins), (expected, expected_margins) = engines.scored(x), onnx.predict_members(x)
        worst = float(np.max(np.abs(shipped - expected)))
        if margins is not None and expected_margins is not None:
            worst = max(worst, float(np.max(np.abs(margins - expected_margins))))
        rounds, budget = ROUNDS[batch]
        best = race(peers, x, int(rounds * scale), budget * scale)
        rate = {key[0]: batch / seconds for key, seconds in best.items()}
        ratio = rate["shipped"] / max(rate["onnxruntime"], rate["native"])
        rows.append({
            "model": name, "members": [m.algorithm for m in artifact.card.members], "batch": batch,
            "shipped_rows_per_s": rate["shipped"], "onnxruntime_rows_per_s": rate["onnxruntime"],
            "native_rows_per_s": rate["native"], "shipped_vs_onnxruntime": rate["shipped"] / rate["onnxruntime"],
            "shipped_vs_native": rate["shipped"] / rate["native"], "shipped_vs_best": ratio,
            "noise_onnxruntime_vs_itself": rate["onnxruntime again"] / rate["onnxruntime"],
            "goal": "met" if ratio >= MET else "within noise" if ratio >= NOISE else "missed",
            **({"lightgbm_goal_1_5x_native": "met" if rate["shipped"] / rate["native"] >= LIGHTGBM_GOAL else "missed"}
               if batch == max(BATCHES) and "lightgbm" in [m.algorithm for m in artifact.card.members] else {}),
            "max_abs_diff_vs_model_onnx": worst,
        })
    return {"model": name, "engines": engines.describe(), "summary": engines.summary(),
            "load_seconds": load_seconds, "rows": rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000, help="Synthetic training rows per model.")
    parser.add_argument("--scale", type=float, default=1.0, help="Multiplies the rounds and time per batch size.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--models", default=",".join(MODELS), help=f"Comma-separated subset of {list(MODELS)}.")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    from leadscore.data import drop_ground_truth, synth
    from leadscore.trainer.card import library_versions

    console = Console()
    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory(prefix="leadscore-engine-bench-") as tmp:
        data = Path(tmp, "leads.parquet")
        drop_ground_truth(synth.generate("pc", args.rows, args.seed)).to_parquet(data, index=False)
        leads = drop_ground_truth(synth.generate("pc", max(BATCHES), args.seed + 1)).drop(columns=[synth.TARGET])
        for name in args.models.split(","):
            console.print(f"training {name} ({', '.join(MODELS[name])}) on {args.rows:,} rows")
            path = train_artifact(name, MODELS[name], data, Path(tmp), args.seed)
            results.append(bench_model(name, path, leads, args.scale))

    table = Table(title="in-process scoring, rows/s (fastest call of alternating rounds); noise: onnxruntime "
                        "against itself")
    for column in ("model", "batch", "shipped", "onnxruntime", "native", "vs onnxruntime", "vs native", "noise",
                   "goal"):
        table.add_column(column, justify="left" if column in ("model", "goal") else "right")
    for result in results:
        for row in result["rows"]:
            table.add_row(row["model"], f"{row['batch']:,}", f"{row['shipped_rows_per_s']:,.0f}",
                          f"{row['onnxruntime_rows_per_s']:,.0f}", f"{row['native_rows_per_s']:,.0f}",
                          f"{row['shipped_vs_onnxruntime']:.2f}", f"{row['shipped_vs_native']:.2f}",
                          f"{row['noise_onnxruntime_vs_itself']:.2f}", row["goal"])
    console.print(table)
    for result in results:
        console.print(f"{result['model']}: {result['summary']} (chosen in {result['load_seconds']:.2f} s)")
        for note in result["engines"]["notes"]:
            console.print(f"  {note}")
        for row in result["rows"]:
            if "lightgbm_goal_1_5x_native" in row:
                console.print(f"  goal: a LightGBM model at {row['batch']:,} rows >= {LIGHTGBM_GOAL}x its native "
                              f"predict: {row['shipped_vs_native']:.2f}x, {row['lightgbm_goal_1_5x_native']}")
    report = {
        "benchmark": "engines", "created": datetime.now(UTC).isoformat(), "train_rows": args.rows,
        "rounds_and_seconds_per_peer": {str(k): [int(r * args.scale), s * args.scale] for k, (r, s) in ROUNDS.items()},
        "cpus": os.cpu_count(),
        "load_average_before": load_before, "load_average_after": os.getloadavg(),
        "machine": platform.platform(), "python": sys.version.split()[0],
        "libraries": {**library_versions(), **optional_versions()},
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1))
    console.print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training time per algorithm, and batch scoring speed of ``model.onnx`` against the native
libraries' own prediction for the very same fitted models, in one process.

    .venv/bin/python bench/train_bench.py [--rows 100000] [--trials 1] [--repeat 3]

Prints a table and writes ``bench/results/train.json``. Native scoring is every member's
raw-margin prediction (``predict_proba`` before its sigmoid: ``decision_function``,
``output_margin``, ``raw_score``, ``RawFormulaVal``) plus the numpy blend and calibration,
which is exactly what the ONNX graph replaces; each timing is the best of ``--repeat`` runs
over the whole feature matrix.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

RESULTS = Path(__file__).parent / "results" / "train.json"


def best_seconds(work: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=1, help="Optuna trials per algorithm.")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    import tempfile

    from rich.console import Console
    from rich.table import Table

    from leadscore.data import DatasetSpec, drop_ground_truth, synth
    from leadscore.trainer import onnx_graph
    from leadscore.trainer.algorithms import TrainData
    from leadscore.trainer.card import library_versions
    from leadscore.trainer.config import TrainConfig
    from leadscore.trainer.ensemble import fit_blend
    from leadscore.trainer.pipeline import prepare, search
    from leadscore.trainer.progress import RichProgress

    console = Console()
    progress = RichProgress()
    with tempfile.TemporaryDirectory(prefix="leadscore-bench-") as tmp:
        data_path = Path(tmp, "leads.parquet")
        drop_ground_truth(synth.generate("pc", args.rows, args.seed)).to_parquet(data_path, index=False)
        config = TrainConfig(data=str(data_path), output=str(Path(tmp, "model")), trials=args.trials,
                             seed=args.seed, device="cpu",
                             dataset=DatasetSpec(target=synth.TARGET, id_column=synth.ID_COLUMN,
                                                 time_column=synth.TIME_COLUMN))
        prepared = prepare(config, progress)
    data = TrainData(prepared.x["train"], prepared.y["train"], prepared.x["valid"], prepared.y["valid"],
                     seed=args.seed)
    tuned = search(config, data, progress)
    progress.close()

    x = np.concatenate([prepared.x["train"], prepared.x["valid"], prepared.x["test"]])
    n_features = x.shape[1]
    rows = []
    for name, result in tuned.items():
        algorithm, model = result.algorithm, result.model
        blend = fit_blend({name: result.valid_margin}, [name], prepared.y["valid"], "sigmoid")
        member = onnx_graph.Member(name, algorithm.to_onnx(model, n_features), 1.0)
        graph = onnx_graph.build([member], blend, n_features)
        rows.append(_compare(name, result.seconds, result.trials, graph,
                             lambda a=algorithm, m=model, b=blend, n=name: b.predict({n: a.margin(m, x)}),
                             x, args.repeat))
    everything = fit_blend({n: t.valid_margin for n, t in tuned.items()}, list(tuned), prepared.y["valid"],
                           "sigmoid")
    members = [onnx_graph.Member(n, tuned[n].algorithm.to_onnx(tuned[n].model, n_features), float(w))
               for n, w in zip(everything.members, everything.weights, strict=True)]
    graph = onnx_graph.build(members, everything, n_features)
    rows.append(_compare("ensemble(" + "+".join(everything.members) + ")", sum(t.seconds for t in tuned.values()),
                         0, graph, lambda: everything.predict(
                             {n: tuned[n].algorithm.margin(tuned[n].model, x) for n in everything.members}),
                         x, args.repeat))

    table = Table(title=f"training on {len(prepared.y['train']):,} rows ({args.rows:,} synthetic, "
                        f"{n_features} features); scoring {len(x):,} rows")
    for column in ("model", "train s", "trials", "native rows/s", "onnx rows/s", "onnx/native", "max |diff|"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in rows:
        table.add_row(row["model"], f"{row['train_seconds']:.1f}", str(row["trials"]),
                      f"{row['native_rows_per_s']:,.0f}", f"{row['onnx_rows_per_s']:,.0f}",
                      f"{row['ratio']:.2f}", f"{row['max_abs_diff']:.1e}")
    console.print(table)
    report = {
        "benchmark": "train", "created": datetime.now(UTC).isoformat(), "rows": args.rows,
        "train_rows": len(prepared.y["train"]), "scored_rows": len(x), "features": n_features,
        "trials_per_algorithm": args.trials, "repeat": args.repeat, "cpus": os.cpu_count(),
        "machine": platform.platform(), "python": sys.version.split()[0], "libraries": library_versions(),
        "results": rows,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1))
    console.print(f"wrote {args.output}")
    return 0


def _compare(name: str, train_seconds: float, trials: int, graph, native: Callable[[], np.ndarray],
             x: np.ndarray, repeat: int) -> dict[str, object]:
    from leadscore.trainer import onnx_graph

    session = onnx_graph.session(graph.SerializeToString())
    onnx_p = onnx_graph.predict(session, x)
    native_p = native()
    native_s = best_seconds(native, repeat)
    onnx_s = best_seconds(lambda: onnx_graph.predict(session, x), repeat)
    return {"model": name, "train_seconds": round(train_seconds, 2), "trials": trials,
            "native_rows_per_s": len(x) / native_s, "onnx_rows_per_s": len(x) / onnx_s,
            "ratio": native_s / onnx_s, "max_abs_diff": float(np.max(np.abs(onnx_p - native_p)))}


if __name__ == "__main__":
    sys.exit(main())

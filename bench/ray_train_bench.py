"""Training on one node vs ``leadscore train --engine ray`` on a local Ray cluster of 1, 2 and 4 CPUs.

    nice .venv/bin/python bench/ray_train_bench.py [--rows 30000] [--shards 6] [--trials 4]

Writes ``--rows`` synthetic P&C leads (seed 7) as one CSV file and as ``--shards`` CSV shards, then
times the CLI: ``leadscore train`` on the file with ``--threads`` = this machine's cores, and
``leadscore train --engine ray`` on the shards against ``ray start --head --num-cpus N`` for N = 1,
2 and 4, with one search trial in flight and, from 2 CPUs, with ``--parallel-trials 2``. Every run:
``--algorithms lr,xgboost --trials T --seed 3 --cv-folds 0``, the same time-aware split. Records wall
time, the XGBoost search's seconds and held-out ROC-AUC from the model card, and peak memory (the
driver alone, and the driver plus the whole Ray cluster). Writes ``bench/results/ray_train.json``.
On a 2-core machine 4 Ray CPUs are logical (oversubscribed): the row says so; what more real cores
would give is a projection (docs/scale.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ray_bench import group_pids, measured, rss

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

RESULTS = Path(__file__).parent / "results" / "ray_train.json"
BOOSTER = "xgboost"


def _train(command: list[str], env: dict[str, str], output: Path, cluster_group: int | None) -> dict[str, Any]:
    """One CLI run, measured: wall seconds, peak RSS of the driver and of the driver plus the cluster."""
    driver: list[subprocess.Popen[str]] = []
    driver_peak = [0]

    def run() -> None:
        driver.append(subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True))
        _, err = driver[0].communicate(timeout=1800)
        if driver[0].returncode != 0:
            raise RuntimeError(f"{' '.join(command[:4])} ... exited {driver[0].returncode}: {err[-2000:]}")

    def sampled() -> list[int]:
        own = [p.pid for p in driver]
        driver_peak[0] = max(driver_peak[0], rss(own))
        return [*own, *(group_pids(cluster_group) if cluster_group else [])]

    _, seconds, peak = measured(run, sampled)
    card = json.loads((output / "model_card.json").read_text())
    search = {a["algorithm"]: a for a in card["algorithms"]}[BOOSTER]
    return {"seconds": round(seconds, 1), "search_seconds": round(search["seconds"], 1),
            "roc_auc": round(card["metrics"]["roc_auc"], 4), "booster_roc_auc": round(search["test"]["roc_auc"], 4),
            "driver_peak_rss_mib": round(driver_peak[0] / 2**20),
            "peak_rss_mib": round(peak / 2**20)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--shards", type=int, default=6)
    parser.add_argument("--trials", type=int, default=4)
    args = parser.parse_args()

    import numpy as np

    from leadscore.data import synth
    from support.ray_cluster import running_ray

    root = Path(tempfile.mkdtemp(prefix="leadscore-ray-train-bench-"))
    leads = synth.generate("pc", args.rows, 7).sort_values("created_at").reset_index(drop=True)
    leads.to_csv(root / "leads.csv", index=False)
    (root / "shards").mkdir()
    for index, rows in enumerate(np.array_split(np.arange(len(leads)), args.shards)):
        leads.iloc[rows].to_csv(root / "shards" / f"part-{index:03d}.csv", index=False)
    del leads

    leadscore = str(Path(sys.executable).parent / "leadscore")
    common = ["--target", "converted", "--id-col", "lead_id", "--time-col", "created_at", "--algorithms",
              f"lr,{BOOSTER}", "--trials", str(args.trials), "--seed", "3", "--cv-folds", "0",
              "--mlflow-uri", f"sqlite:///{root}/mlflow.db"]
    load = Path("/proc/loadavg").read_text().split()[0]
    cores = os.cpu_count() or 1
    runs: dict[str, Any] = {}
    out = root / "one-node"
    runs["one_node"] = {"cpus": cores, **_train([leadscore, "train", "--data", str(root / "leads.csv"), *common,
                                                 "--threads", str(cores), "--output", str(out)], {}, out, None)}
    print("one node", runs["one_node"], file=sys.stderr)
    for cpus in (1, 2, 4):
        with running_ray(root / f"ray-{cpus}", cpus=cpus) as cluster:
            for parallel in (1, 2) if cpus > 1 else (1,):
                name = f"ray_{cpus}_cpu" + (f"_{parallel}_trials" if parallel > 1 else "")
                out = root / name
                command = [leadscore, "train", "--engine", "ray", "--ray-address", cluster.address, "--data",
                           str(root / "shards"), *common, "--threads", "1", "--parallel-trials", str(parallel),
                           "--output", str(out)]
                runs[name] = {"cpus": cpus, "parallel_trials": parallel, "oversubscribed": cpus > cores,
                              **_train(command, cluster.env, out, cluster.process.popen.pid)}
                print(name, runs[name], file=sys.stderr)
    for run in runs.values():
        run["time_vs_one_node"] = round(run["seconds"] / runs["one_node"]["seconds"], 2)
    report = {"created": datetime.now(UTC).isoformat(timespec="seconds"), "rows": args.rows, "shards": args.shards,
              "trials": args.trials, "algorithms": f"lr,{BOOSTER}",
              "machine": f"{platform.machine()}, {cores} cores, load average before {load} (shared with other work)",
              "note": "seconds: the whole CLI (imports, joining, reading, search, refit, export); peak_rss_mib: the "
                      "driver plus, on Ray, the whole cluster (GCS, raylet, workers); time_vs_one_node: seconds "
                      "over the one-node run's",
              "runs": runs}
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

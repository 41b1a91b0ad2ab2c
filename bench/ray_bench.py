"""Batch scoring on one node vs on a local Ray cluster of 1 and 2 CPUs (``leadscore score --engine ray``).

    nice .venv/bin/python bench/ray_bench.py [--rows 200000] [--shards 8]

Trains a small model (LR + LightGBM, 2 trials) on 5,000 synthetic P&C leads, writes ``--rows``
fresh leads as ``--shards`` CSV files (and the same rows as one file), then times
``batch.score_file`` on the one file and ``score_shards`` on the shards against ``ray start --head
--num-cpus N`` for N = 1, 2. Peak memory is the summed RSS of the scoring processes (the driver and,
for Ray, every process of the cluster's process group), sampled every 0.2 s. Writes
``bench/results/ray.json``. On a 2-core machine the numbers say what one and two workers do
here; anything beyond is a projection (docs/scale.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

RESULTS = Path(__file__).parent / "results" / "ray.json"


def rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    pids.append(int(entry))
            except ProcessLookupError:
                continue
    return pids


def measured(run: Callable[[], Any], pids: Callable[[], list[int]]) -> tuple[Any, float, int]:
    """``run()``'s result, its wall seconds and the peak summed RSS of ``pids()`` meanwhile."""
    peak, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss(pids()))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        result = run()
    finally:
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    return result, seconds, peak[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--shards", type=int, default=8)
    args = parser.parse_args()

    import numpy as np

    from leadscore.data import synth
    from leadscore.trainer.batch import score_file
    from leadscore.trainer.config import TrainConfig
    from leadscore.trainer.pipeline import train
    from support.ray_cluster import running_ray

    root = Path(tempfile.mkdtemp(prefix="leadscore-ray-bench-"))
    synth.generate("pc", 5000, 1).to_csv(root / "train.csv", index=False)
    from leadscore.data import DatasetSpec

    train(TrainConfig(data=str(root / "train.csv"), output=str(root / "model"), algorithms=["lr", "lightgbm"],
                      trials=2, threads=1, mlflow_uri=f"sqlite:///{root}/mlflow.db",
                      dataset=DatasetSpec(target="converted", id_column="lead_id", time_column="created_at")))
    fresh = synth.generate("pc", args.rows, 2).drop(columns=["converted"])
    fresh.to_csv(root / "fresh.csv", index=False)
    (root / "shards").mkdir()
    for index, rows in enumerate(np.array_split(np.arange(len(fresh)), args.shards)):
        fresh.iloc[rows].to_csv(root / "shards" / f"part-{index:03d}.csv", index=False)
    del fresh

    load = Path("/proc/loadavg").read_text().split()[0]
    runs: dict[str, Any] = {}
    me = os.getpid()
    run, seconds, peak = measured(lambda: score_file(str(root / "model"), str(root / "fresh.csv"),
                                                      str(root / "local.csv"), 10_000), lambda: [me])
    runs["local"] = {"cpus": os.cpu_count(), "seconds": round(seconds, 2), "rows_per_s": round(run.rows / seconds),
                     "peak_rss_mib": round(peak / 2**20), "note": "one process; peak includes the model and "
                                                                  "the benchmark's own imports"}
    leadscore = Path(sys.executable).parent / "leadscore"
    for cpus in (1, 2):
        with running_ray(root / f"ray-{cpus}", cpus=cpus) as cluster:
            pgid = cluster.process.popen.pid
            # the CLI in its own process: a driver joins one cluster per process (Ray caches its token)
            command = [str(leadscore), "score", "--engine", "ray", "--ray-address", cluster.address, "--model",
                       str(root / "model"), "--data", str(root / "shards"), "--output", str(root / f"ray-{cpus}.csv"),
                       "--json"]
            driver: list[subprocess.Popen[str]] = []

            def scored(command: list[str] = command, env: dict[str, str] = cluster.env,
                       driver: list[subprocess.Popen[str]] = driver) -> dict[str, Any]:
                driver.append(subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.PIPE,
                                               stderr=subprocess.DEVNULL, text=True))
                out, _ = driver[0].communicate(timeout=900)
                assert driver[0].returncode == 0, out
                return json.loads(out.strip().splitlines()[-1])

            metrics, seconds, peak = measured(scored, lambda pgid=pgid, driver=driver: [
                *(p.pid for p in driver), *group_pids(pgid)])
        runs[f"ray_{cpus}_cpu"] = {"cpus": cpus, "seconds": round(seconds, 2),
                                   "cluster_phase_seconds": metrics["scoringSeconds"],
                                   "rows_per_s": round(metrics["rows"] / metrics["scoringSeconds"]),
                                   "peak_rss_mib": round(peak / 2**20),
                                   "note": "seconds: the whole CLI (start, imports, opening the model, joining); "
                                           "rows_per_s on the cluster phase (actors opening the model, reading, "
                                           "scoring, streaming the output); peak RSS of the driver and the whole "
                                           "cluster (GCS, raylet, workers)"}
    report = {"created": datetime.now(UTC).isoformat(timespec="seconds"), "rows": args.rows, "shards": args.shards,
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, load average before "
                         f"{load} (shared with other work)",
              "runs": runs}
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

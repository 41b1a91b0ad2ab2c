"""The model families on the bundled real data sets: each algorithm's held-out ROC-AUC alone, its
search time, whether it is part of what shipped, and the blend against stacking.

    nice .venv/bin/python bench/families_bench.py [--trials 4] [--rows 0] [--data-sets bank_marketing xeducation]

Same data sets and exclusions as ``small_data_bench`` (bank marketing without ``duration``, X
Education without its sales-side columns). ``leadscore train``'s pipeline runs end to end with
every algorithm (lr, xgboost, lightgbm, catboost, randomforest, mlp), one thread per library, so
each algorithm's search seconds are comparable; then, unless ``--no-compare``, the same rows with
the default four algorithms, so the shipped ROC-AUC and the whole run's time can be compared.
Writes ``bench/results/families.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from small_data_bench import SETS, sampled_config

RESULTS = Path(__file__).parent / "results" / "families.json"


def one_run(name: str, rows: int, seed: int, trials: int, work: Path, compare: bool) -> dict[str, Any]:
    from leadscore.api.leadscoringmodel import ALGORITHMS, DEFAULT_ALGORITHMS
    from leadscore.trainer.pipeline import train

    config, frame = sampled_config(name, rows, seed, trials, list(ALGORITHMS), work)
    started = time.monotonic()
    _, card = train(config)
    seconds = time.monotonic() - started
    default: dict[str, Any] = {}
    if compare:  # the same rows, split and seed with the default algorithms only
        started = time.monotonic()
        _, four = train(config.model_copy(update={"algorithms": list(DEFAULT_ALGORITHMS),
                                                  "output": str(work / f"{name}-default")}))
        default = {"default_shipped": four.shipped, "default_roc_auc": four.metrics.roc_auc,
                   "default_seconds": round(time.monotonic() - started, 1)}
    best = {c: min((s.log_loss for s in card.candidates if s.candidate == c), default=None)
            for c in dict.fromkeys(s.candidate for s in card.candidates)}
    return {"data_set": name, "rows": len(frame), "seed": seed, "trials": trials,
            "shipped": card.shipped, "members": {m.algorithm: round(m.weight, 4) for m in card.members},
            "shipped_roc_auc": card.metrics.roc_auc, "train_seconds": round(seconds, 1),
            "parity_max_abs_diff": card.training.parity_max_abs_diff,
            "selection_log_loss": best, **default,
            "algorithms": {a.algorithm: {"roc_auc": a.test["roc_auc"], "seconds": a.seconds, "trials": a.trials,
                                         "params": a.params} for a in card.algorithms}}


def table(runs: list[dict[str, Any]]) -> str:
    lines = ["| data set | algorithm | held-out ROC-AUC alone | search s | in shipped model |", "|---|---|---|---|---|"]
    for r in runs:
        for name, a in r["algorithms"].items():
            weight = r["members"].get(name)
            lines.append(f"| {r['data_set']} | {name} | {a['roc_auc']:.4f} | {a['seconds']:.0f} | "
                         + (f"yes (weight {weight:.2f})" if weight is not None else "no") + " |")
        lines.append(f"| {r['data_set']} | **shipped: {r['shipped']}** | {r['shipped_roc_auc']:.4f} | "
                     f"{r['train_seconds']:.0f} (whole run) | blend {r['selection_log_loss'].get('ensemble', 0):.5f} "
                     f"vs stacking {r['selection_log_loss'].get('stacking', 0):.5f} (selection log loss) |")
        if "default_roc_auc" in r:
            lines.append(f"| {r['data_set']} | default four only: {r['default_shipped']} | "
                         f"{r['default_roc_auc']:.4f} | "
                         f"{r['default_seconds']:.0f} (whole run) | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=0, help="Subsample to this many rows (0: all).")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--data-sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--no-compare", action="store_true", help="Skip the run with the default algorithms.")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory(prefix="leadscore-families-") as tmp:
        for name in args.data_sets:
            runs.append(one_run(name, args.rows, args.seed, args.trials, Path(tmp), not args.no_compare))
            print(json.dumps(runs[-1]), flush=True)
    print(table(runs))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "created": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
        "cpus": os.cpu_count(), "load": os.getloadavg(), "trials": args.trials, "runs": runs}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Do graded targets (seed 001's mapping of feedback) beat the binary outcome on held-out ROC-AUC?

    .venv/bin/python bench/soft_targets.py [--rows 3000] [--seeds 1,2,3,4] [--noise 1.0] [--trials 2]

For each seed: synthetic P&C leads with synthetic feedback (``synth.feedback``: a noisy view of
each lead's true quality, ``--noise`` its scale), trained twice through the trainer's own steps on
the same split, once on the binary outcome and once with ``TargetsSpec()`` (the defaults). Both
are judged on the same held-out test rows against the **binary** outcome, from the shipped ONNX
graph. Prints a table and writes ``bench/results/soft_targets.json``. How informative real
feedback is, is a property of a team's CRM; this measures the mechanism, not a promise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results" / "soft_targets.json"


def _run(data: Path, tmp: Path, seed: int, trials: int, algorithms: list[str], targets: object) -> dict[str, float]:
    from leadscore.data import DatasetSpec, synth
    from leadscore.trainer.algorithms import TrainData
    from leadscore.trainer.config import TrainConfig
    from leadscore.trainer.pipeline import choose_and_export, fit_final, prepare, search
    from leadscore.trainer.progress import Silent

    config = TrainConfig(data=str(data), output=str(tmp / "model"), trials=trials, seed=seed, device="cpu",
                         threads=1, algorithms=algorithms, targets=targets,
                         dataset=DatasetSpec(target=synth.TARGET, id_column=synth.ID_COLUMN,
                                             time_column=synth.TIME_COLUMN))
    progress = Silent()
    prepared = prepare(config, progress)
    t = prepared.t
    data_ = TrainData(prepared.x["train"], prepared.y["train"], prepared.x["valid"], prepared.y["valid"],
                      seed=seed, threads=1, t_train=t["train"] if t else None, t_valid=t["valid"] if t else None)
    tuned, holdout = fit_final(search(config, data_, progress), data_, prepared, progress)
    shipped = choose_and_export(config, tuned, holdout, prepared, progress)
    return {"roc_auc": shipped.metrics.roc_auc, "log_loss": shipped.metrics.log_loss,
            "brier": shipped.metrics.brier, "shipped": shipped.selection.shipped}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--seeds", default="1,2,3,4")
    parser.add_argument("--noise", type=float, default=1.0, help="Scale of the feedback's noise (synth.feedback).")
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument("--algorithms", default="lr,lightgbm")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from leadscore.api.feedback import TargetsSpec
    from leadscore.data import synth

    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        leads = synth.generate("pc", args.rows, seed)
        frame = pd.concat([leads, synth.feedback(leads, seed, noise=args.noise)], axis=1)
        with tempfile.TemporaryDirectory(prefix="leadscore-soft-") as tmp:
            path = Path(tmp, "leads.parquet")
            frame.to_parquet(path, index=False)
            algorithms = args.algorithms.split(",")
            binary = _run(path, Path(tmp, "b"), seed, args.trials, algorithms, None)
            soft = _run(path, Path(tmp, "s"), seed, args.trials, algorithms, TargetsSpec())
        rows.append({"seed": seed, "binary": binary, "soft": soft,
                     "roc_auc_gain": soft["roc_auc"] - binary["roc_auc"]})
        print(f"seed {seed}: binary ROC-AUC {binary['roc_auc']:.4f} ({binary['shipped']}), soft "
              f"{soft['roc_auc']:.4f} ({soft['shipped']}), gain {rows[-1]['roc_auc_gain']:+.4f}; log loss "
              f"{binary['log_loss']:.4f} -> {soft['log_loss']:.4f}", flush=True)
    gains = np.array([r["roc_auc_gain"] for r in rows])
    print(f"mean gain {gains.mean():+.4f} (sd {gains.std(ddof=1) if len(gains) > 1 else 0:.4f}), "
          f"soft better in {int((gains > 0).sum())} of {len(gains)} seeds")
    report = {"benchmark": "soft_targets", "created": datetime.now(UTC).isoformat(), "rows": args.rows,
              "noise": args.noise, "trials": args.trials, "algorithms": args.algorithms,
              "cpus": os.cpu_count(), "machine": platform.platform(), "results": rows,
              "mean_roc_auc_gain": float(gains.mean())}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

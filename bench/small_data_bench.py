"""Small, imbalanced data: the automatic choice against a hand-regularised LightGBM and plain LR,
trained on the same rows in the same run, judged on the same untouched test rows.

    nice .venv/bin/python bench/small_data_bench.py [--rows 4000] [--seeds 1 2 3] [--trials 6]

Each bundled data set (``../shared/datasets``: bank marketing without ``duration``, X Education
without its sales-side columns) is subsampled to ``--rows`` rows per seed. ``leadscore train``'s
pipeline runs on it end to end (search, selection, refit, ONNX); the yardsticks are fitted on the
very same encoded non-test rows the pipeline split off (``prepare`` is deterministic for a seed)
and scored on its test rows. Writes ``bench/results/small_data.json`` and prints the table.

``--variants`` adds ablations of the same run (same rows, split and seed), patched in this script
only: ``no_class_weights`` pins ``scale_pos_weight`` to 1 in every trial; ``no_refit`` restores
the behaviour before the refit (models fitted on the training part only, selection and
calibration on the single validation part).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

RESULTS = Path(__file__).parent / "results" / "small_data.json"
DATASETS = (Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets").resolve()
XEDUCATION_EXCLUDE = ["Tags", "Lead Quality", "Lead Profile", "Last Notable Activity", "Asymmetrique Activity Index",
                      "Asymmetrique Profile Index", "Asymmetrique Activity Score", "Asymmetrique Profile Score"]
SETS: dict[str, dict[str, Any]] = {
    "bank_marketing": {"file": "bank_marketing.csv", "target": "y", "id_column": None, "exclude": ["duration"]},
    "xeducation": {"file": "xeducation_leads.csv", "target": "Converted", "id_column": "Prospect ID",
                   "exclude": XEDUCATION_EXCLUDE},
}
# Hand-regularised for a few thousand rows: few leaves, large leaves, subsampling, slow learning.
HAND_LIGHTGBM: dict[str, Any] = {"num_leaves": 8, "min_child_samples": 50, "learning_rate": 0.03, "n_estimators": 300,
                 "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "reg_lambda": 5.0}


def yardsticks(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, seed: int) -> dict[str, float]:
    """Held-out ROC-AUC of the hand-regularised LightGBM and of plain LR fitted on ``(x, y)``."""
    import lightgbm as lgb
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    booster = lgb.LGBMClassifier(random_state=seed, n_jobs=1, verbose=-1, **HAND_LIGHTGBM).fit(x, y)
    linear = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                           LogisticRegression(max_iter=2000)).fit(np.asarray(x, dtype=np.float64), y)
    return {"hand_lightgbm": float(roc_auc_score(y_test, np.asarray(booster.predict_proba(x_test))[:, 1])),
            "lr": float(roc_auc_score(y_test, linear.predict_proba(np.asarray(x_test, dtype=np.float64))[:, 1]))}


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    from leadscore.trainer import refit
    from leadscore.trainer.algorithms import ALGORITHMS

    with contextlib.ExitStack() as stack:
        if name == "no_class_weights":
            for algorithm in ALGORITHMS.values():
                space = algorithm.search_space

                def pinned(trial: Any, space: Any = space) -> dict[str, Any]:
                    params = space(trial)
                    return {**params, "scale_pos_weight": 1.0} if "scale_pos_weight" in params else params

                stack.enter_context(mock.patch.object(algorithm, "search_space", pinned))
        elif name == "no_refit":
            stack.enter_context(mock.patch.object(refit, "use_cross_validation", lambda *_: False))
            stack.enter_context(mock.patch.object(refit, "holdout",
                                                  lambda tuned, data, _: refit.validation(tuned, data)))
            stack.enter_context(mock.patch.object(refit, "refit_all", lambda tuned, data: tuned))
        yield


def sampled_config(name: str, rows: int | None, seed: int, trials: int, algorithms: list[str],
                   work: Path) -> tuple[Any, Any]:
    """A one-thread CPU ``TrainConfig`` on ``rows`` rows of a bundled data set (every row with None),
    written under ``work``, and those rows (the families bench uses it too)."""
    from leadscore.data import DatasetSpec, load_dataset
    from leadscore.trainer.config import TrainConfig

    spec = SETS[name]
    frame = load_dataset(str(DATASETS / spec["file"]))
    if rows:
        frame = frame.sample(n=min(rows, len(frame)), random_state=seed).reset_index(drop=True)
    path = work / f"{name}-{seed}.parquet"
    frame.to_parquet(path, index=False)
    config = TrainConfig(data=str(path), output=str(work / f"{name}-{seed}-model"), trials=trials, seed=seed,
                         algorithms=algorithms, threads=1, device="cpu", mlflow_uri=str(work / "mlruns"),
                         dataset=DatasetSpec(target=spec["target"], id_column=spec["id_column"],
                                             exclude=spec["exclude"]))
    return config, frame


def one_run(name: str, rows: int, seed: int, trials: int, algorithms: list[str], work: Path,
            variants: list[str]) -> dict[str, Any]:
    from leadscore.trainer.pipeline import prepare, train
    from leadscore.trainer.progress import Silent

    config, sample = sampled_config(name, rows, seed, trials, algorithms, work)
    started = time.monotonic()
    _, card = train(config)
    seconds = time.monotonic() - started
    ablations = {}
    for index, other in enumerate(variants):
        with variant(other):
            config = config.model_copy(update={"output": str(work / f"{name}-{seed}-{other}-{index}")})
            ablations[other] = train(config)[1].metrics.roc_auc
    prepared = prepare(config, Silent())
    x = np.concatenate([prepared.x["train"], prepared.x["valid"]])
    y = np.concatenate([prepared.y["train"], prepared.y["valid"]])
    final_fit = card.training.final_fit
    assert final_fit is not None and final_fit.rows == len(y)
    return {"data_set": name, "seed": seed, "rows": len(sample),
            "positives": round(card.data.positive_rate * len(sample)), "test_rows": len(prepared.y["test"]),
            "test_positives": int(prepared.y["test"].sum()), "selection": final_fit.selection,
            "validation_positives": int(prepared.y["valid"].sum()), "shipped": card.shipped,
            "members": [m.algorithm for m in card.members],
            "scale_pos_weight": {a.algorithm: a.params["scale_pos_weight"] for a in card.algorithms
                                 if "scale_pos_weight" in a.params},
            "auto": card.metrics.roc_auc, **ablations, "auto_log_loss": card.metrics.log_loss,
            "train_seconds": round(seconds, 1),
            **yardsticks(x, y, prepared.x["test"], prepared.y["test"], seed)}


def table(runs: list[dict[str, Any]], variants: list[str]) -> str:
    columns = ["auto", *variants, "hand_lightgbm", "lr"]
    lines = ["| data set | seed | rows (positives) | selection | shipped | " + " | ".join(columns) + " |",
             "|---|---|---|---|---|" + "---|" * len(columns)]
    for r in runs:
        lines.append(f"| {r['data_set']} | {r['seed']} | {r['rows']} ({r['positives']}) | {r['selection']} | "
                     f"{r['shipped']} | " + " | ".join(f"{r[c]:.4f}" for c in columns) + " |")
    for name in dict.fromkeys(r["data_set"] for r in runs):
        mine = [r for r in runs if r["data_set"] == name]
        lines.append(f"| **{name} mean** | | | | | "
                     + " | ".join(f"{np.mean([r[c] for r in mine]):.4f}" for c in columns) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--algorithms", default="lr,xgboost,lightgbm")
    parser.add_argument("--data-sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--variants", nargs="*", default=[], choices=["no_class_weights", "no_refit"])
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory(prefix="leadscore-small-") as tmp:
        for name in args.data_sets:
            for seed in args.seeds:
                runs.append(one_run(name, args.rows, seed, args.trials, args.algorithms.split(","), Path(tmp),
                                    args.variants))
                print(json.dumps(runs[-1]), flush=True)
    print(table(runs, args.variants))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "created": datetime.now(UTC).isoformat(timespec="seconds"), "machine": platform.platform(),
        "cpus": os.cpu_count(), "rows": args.rows, "trials": args.trials, "algorithms": args.algorithms,
        "variants": args.variants,
        "hand_lightgbm": HAND_LIGHTGBM, "runs": runs}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

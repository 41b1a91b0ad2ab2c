"""Declared text columns: held-out ROC-AUC with and without their full encoding (issue 15).

    nice .venv/bin/python bench/text_bench.py [--rows 20000] [--seeds 1 2 3] [--verticals pc commercial]

For each data set the trainer's own steps run twice on the same rows and the same split
(``validate``, ``split_rows``: chronological when there is a time column): once with the text
column declared (``text_columns``: TF-IDF terms, keyword flags, patterns, amounts) and once
without (the text then gives its length only). Two fixed models are fitted on the training part
of each encoding, a LightGBM and the trainer's LR baseline; their ROC-AUC on the validation part
and on the untouched test part is reported. Synthetic leads (``synth.generate``) carry a text field
whose words move the truth (``inquiry``); X Education has no free text, so its most phrase-like
categorical columns are declared text instead, to see whether their words add anything to the
one-hot / rate encodings. Writes ``bench/results/text.json`` and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results" / "text.json"
DATASETS = (Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets").resolve()
XEDUCATION_EXCLUDE = ["Tags", "Lead Quality", "Lead Profile", "Asymmetrique Activity Index",
                      "Asymmetrique Profile Index", "Asymmetrique Activity Score", "Asymmetrique Profile Score"]
XEDUCATION_TEXT = ["Last Activity", "Last Notable Activity", "What matters most to you in choosing a course",
                   "Specialization"]
LIGHTGBM: dict[str, Any] = {"num_leaves": 15, "min_child_samples": 50, "learning_rate": 0.05, "n_estimators": 300,
                            "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8}


def models(x: dict[str, np.ndarray], y: dict[str, np.ndarray], seed: int) -> dict[str, dict[str, float]]:
    """Validation and test ROC-AUC of a fixed LightGBM and the LR baseline fitted on the training part."""
    import lightgbm as lgb
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    fitted = {
        "lightgbm": lgb.LGBMClassifier(random_state=seed, n_jobs=1, verbose=-1, **LIGHTGBM),
        "lr": make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
                            LogisticRegression(max_iter=2000, class_weight="balanced")),
    }
    out: dict[str, dict[str, float]] = {}
    for name, model in fitted.items():
        model.fit(x["train"], y["train"])
        out[name] = {part: float(roc_auc_score(y[part], model.predict_proba(x[part])[:, 1]))
                     for part in ("valid", "test")}
    return out


def run(frame: pd.DataFrame, spec_args: dict[str, Any], text: list[str], seed: int) -> dict[str, Any]:
    """Both encodings on the same rows and split."""
    from leadscore.data import DatasetSpec, validate
    from leadscore.features import LeadFeatures
    from leadscore.trainer.split import split_rows

    row: dict[str, Any] = {}
    for label, declared in (("length_only", []), ("declared", text)):
        spec = DatasetSpec(**spec_args, text_columns=declared)
        clean, schema = validate(frame, spec)
        y_all = clean[spec.target].to_numpy(dtype=np.int64)
        times = None
        if spec.time_column:
            times = clean[spec.time_column].astype("int64").to_numpy(dtype=np.float64) / 1e9
        split = split_rows(y_all, times, seed)
        parts = {"train": split.train, "valid": split.valid, "test": split.test}
        table = clean.drop(columns=[spec.target])
        features = LeadFeatures(schema, random_state=seed)
        began = time.perf_counter()
        x = {"train": features.fit_transform(table.iloc[split.train], y_all[split.train])}
        x.update({part: features.transform(table.iloc[parts[part]]) for part in ("valid", "test")})
        seconds = time.perf_counter() - began
        row[label] = {"features": int(x["train"].shape[1]), "encode_seconds": round(seconds, 2),
                      **models(x, {part: y_all[rows] for part, rows in parts.items()}, seed)}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--verticals", nargs="+", default=["pc", "commercial"])
    args = parser.parse_args()
    from leadscore.data import drop_ground_truth, load_dataset, synth

    results: list[dict[str, Any]] = []
    for vertical in args.verticals:
        for seed in args.seeds:
            frame = drop_ground_truth(synth.generate(vertical, args.rows, seed))
            spec = {"target": synth.TARGET, "id_column": synth.ID_COLUMN, "time_column": synth.TIME_COLUMN}
            results.append({"data": f"synthetic {vertical}", "seed": seed, "rows": len(frame),
                            **run(frame, spec, [synth.TEXT_COLUMN], seed)})
    xeducation = load_dataset(str(DATASETS / "xeducation_leads.csv"))
    for seed in args.seeds:
        spec = {"target": "Converted", "id_column": "Prospect ID", "exclude": XEDUCATION_EXCLUDE}
        results.append({"data": "X Education (phrase-like categoricals declared text)", "seed": seed,
                        "rows": len(xeducation), **run(xeducation, spec, XEDUCATION_TEXT, seed)})
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"when": datetime.now(UTC).isoformat(timespec="seconds"),
                                   "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared, loaded)",
                                   "results": results}, indent=1) + "\n")
    print("| data | seed | model | valid AUC length only | valid AUC declared | test AUC length only | "
          "test AUC declared | features |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        for model in ("lightgbm", "lr"):
            a, b = r["length_only"][model], r["declared"][model]
            print(f"| {r['data']} | {r['seed']} | {model} | {a['valid']:.4f} | {b['valid']:.4f} | {a['test']:.4f} | "
                  f"{b['test']:.4f} | {r['length_only']['features']} -> {r['declared']['features']} |")


if __name__ == "__main__":
    main()

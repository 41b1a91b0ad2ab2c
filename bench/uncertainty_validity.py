"""Validity and cost of the per-lead interval, confidence and agreement (leadscore.uncertainty).

    .venv/bin/python bench/uncertainty_validity.py [--rows 40000] [--skip-real]

Trains (the trainer's own pipeline, lr + LightGBM + XGBoost, default hyper-parameters, seed 42)
on synthetic P&C leads, whose true conversion probability the generator knows (split by time, as
the trainer splits them, and again at random: exchangeable rows, as the guarantee assumes), and on the real
Bank Marketing and X Education data sets (../shared/datasets, the columns the acceptance tests
exclude). On each version's held-out test rows, scored the way ``leadscore score`` scores them:

* per decile of p0: n, mean p0, mean p1, the observed conversion rate (and, synthetic, the mean
  true probability): Venn-ABERS promises the observed rate within [mean p0, mean p1] up to
  sampling error;
* the mean of y - p_y (p1 for converted leads, p0 otherwise), which is zero in expectation;
* synthetic only: the share of leads whose true probability lies inside [p0, p1] (not promised:
  the interval is the calibration uncertainty at the lead's score, not a range for the lead's
  own probability) and the share of deciles whose mean true probability lies inside;
* per quintile of agreement: mean agreement, Brier score, mean |p - y| (and mean
  |p - true probability|); when selection shipped a single model (no agreement is served then),
  measured on the weighted ensemble of all trained members as the trainer fits and exports it;
* the in-process cost: one lead and 100-lead V1 requests through ``LeadScoreModel``
  (preprocess, predict, postprocess) with and without ``uncertainty.json`` in the same artifact,
  interleaved; p50 and p99.

Writes ``bench/results/uncertainty.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadscore.api.artifact import UNCERTAINTY_FILE
from leadscore.data import DatasetSpec, synth
from leadscore.trainer.batch import PublishedModel
from leadscore.trainer.config import TrainConfig
from leadscore.trainer.pipeline import prepare, train
from leadscore.trainer.progress import Silent
from leadscore.uncertainty import UNCERTAINTY_FIELDS

RESULTS = Path(__file__).parent / "results" / "uncertainty.json"
DATASETS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
XEDUCATION_LEAKS = ["Tags", "Lead Quality", "Lead Profile", "Last Notable Activity", "Asymmetrique Activity Index",
                    "Asymmetrique Profile Index", "Asymmetrique Activity Score", "Asymmetrique Profile Score"]
ALGORITHMS = ["lr", "lightgbm", "xgboost"]


def _deciles(p0: np.ndarray, p1: np.ndarray, y: np.ndarray, truth: np.ndarray | None) -> list[dict[str, Any]]:
    rows = []
    for part in np.array_split(np.argsort(p0, kind="stable"), 10):
        low, high, rate = float(p0[part].mean()), float(p1[part].mean()), float(y[part].mean())
        se = float(np.sqrt(max(low * (1 - low), high * (1 - high), 1e-12) / len(part)))
        row = {"n": len(part), "mean_p0": round(low, 4), "mean_p1": round(high, 4), "observed": round(rate, 4),
               "within_2se": bool(low - 2 * se <= rate <= high + 2 * se)}
        if truth is not None:
            true_mean = float(truth[part].mean())
            row |= {"mean_true_p": round(true_mean, 4), "true_within": bool(low <= true_mean <= high)}
        rows.append(row)
    return rows


def _quintiles(agreement: np.ndarray, p: np.ndarray, y: np.ndarray, truth: np.ndarray | None) -> list[dict[str, Any]]:
    rows = []
    for part in np.array_split(np.argsort(agreement, kind="stable"), 5):
        row = {"n": len(part), "mean_agreement": round(float(agreement[part].mean()), 4),
               "brier": round(float(np.mean((p[part] - y[part]) ** 2)), 4),
               "mean_abs_error": round(float(np.mean(np.abs(p[part] - y[part]))), 4)}
        if truth is not None:
            row["mean_abs_error_vs_truth"] = round(float(np.mean(np.abs(p[part] - truth[part]))), 4)
        rows.append(row)
    return rows


def measure(config: TrainConfig, truth_column: str | None) -> tuple[dict[str, Any], Path]:
    """Train, then score the held-out test rows as ``leadscore score`` does."""
    started = time.monotonic()
    _, card = train(config, Silent())
    prepared = prepare(config, Silent())  # the same seed: the same split
    test = prepared.raw.iloc[prepared.split.test]
    truth = test[truth_column].to_numpy(dtype=np.float64) if truth_column else None
    y = prepared.y["test"].astype(np.float64)
    model = PublishedModel.open(config.output)
    p, values = model.scored(test.drop(columns=[config.dataset.target]))
    p0, p1, _, agreement = values.T
    width = p1 - p0
    result: dict[str, Any] = {
        "data": Path(config.data).name, "shipped": card.shipped, "test_rows": len(y),
        "calibration_rows": len(prepared.y["valid"]), "split": prepared.split.strategy,
        "observed_rate": round(float(y.mean()), 4), "roc_auc": round(card.metrics.roc_auc, 4),
        "mean_width": round(float(width.mean()), 4),
        "width_quantiles": {q: round(float(np.quantile(width, q / 100)), 4) for q in (50, 90, 99)},
        "mean_confidence": round(float(1 - width.mean()), 4),
        "share_confidence_below_0_8": round(float(np.mean(1 - width < 0.8)), 4),
        "share_probability_inside": round(float(np.mean((p0 <= p) & (p <= p1))), 4),
        "mean_y_minus_p_y": round(float(np.mean(y - np.where(y == 1, p1, p0))), 5),
        "mean_y_minus_p_y_se": round(float(np.std(y - np.where(y == 1, p1, p0)) / np.sqrt(len(y))), 5),
        "deciles": _deciles(p0, p1, y, truth),
        "seconds": 0.0,
    }
    result["deciles_within_2se"] = sum(d["within_2se"] for d in result["deciles"])
    if truth is not None:
        result["share_true_p_inside"] = round(float(np.mean((p0 <= truth) & (truth <= p1))), 4)
        result["deciles_true_mean_inside"] = sum(d["true_within"] for d in result["deciles"])
    if not np.isnan(agreement).all():
        result["mean_agreement"] = round(float(agreement.mean()), 4)
        result["agreement_quintiles"] = _quintiles(agreement, p, y, truth)
        result["spearman_agreement_vs_abs_error"] = round(float(pd.Series(agreement).corr(
            pd.Series(np.abs(p - y)), method="spearman")), 4)
    result["seconds"] = round(time.monotonic() - started, 1)
    return result, Path(config.output)


def ensemble_agreement(config: TrainConfig, truth_column: str | None) -> dict[str, Any]:
    """Agreement vs error of the weighted ensemble of every trained member, as the trainer fits it
    (sigmoid calibration, ``fit_blend``) and exports it, also when selection shipped one model."""
    from leadscore.trainer import intervals, onnx_graph
    from leadscore.trainer.algorithms import TrainData
    from leadscore.trainer.ensemble import fit_blend
    from leadscore.trainer.pipeline import search
    from leadscore.uncertainty import Table

    prepared = prepare(config, Silent())
    data = TrainData(prepared.x["train"], prepared.y["train"], prepared.x["valid"], prepared.y["valid"],
                     seed=config.seed, device="cpu", threads=config.threads)
    tuned = search(config, data, Silent())
    blend = fit_blend({n: t.valid_margin for n, t in tuned.items()}, list(tuned), prepared.y["valid"], "sigmoid")
    x_test, n_features = prepared.x["test"], prepared.x["test"].shape[1]
    members = [onnx_graph.Member(n, tuned[n].algorithm.to_onnx(tuned[n].model, n_features), float(w))
               for n, w in zip(blend.members, blend.weights, strict=True)]
    onnx_bytes = onnx_graph.build(members, blend, n_features).SerializeToString()
    margins = {n: tuned[n].valid_margin for n in blend.members}
    table = Table(intervals.fit(blend.predict(margins), blend.members, margins, prepared.y["valid"]))
    sess = onnx_graph.session(onnx_bytes)
    p = onnx_graph.predict(sess, x_test).astype(np.float64)
    agreement = table.agreement(onnx_graph.predict_members(sess, x_test))
    if agreement is None:
        return {"members": blend.members}
    test = prepared.raw.iloc[prepared.split.test]
    truth = test[truth_column].to_numpy(dtype=np.float64) if truth_column else None
    y = prepared.y["test"].astype(np.float64)
    return {"members": blend.members, "weights": [round(float(w), 3) for w in blend.weights],
            "mean_agreement": round(float(agreement.mean()), 4),
            "spearman_agreement_vs_abs_error": round(float(pd.Series(agreement).corr(
                pd.Series(np.abs(p - y)), method="spearman")), 4),
            "quintiles": _quintiles(agreement, p, y, truth)}


def latency(artifact: Path, leads: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    """In-process request cost with and without the uncertainty fields, interleaved."""
    from leadscore.predictor.config import PredictorSettings
    from leadscore.predictor.model import LeadScoreModel

    bare = Path(tempfile.mkdtemp(prefix="leadscore-bare-")) / "v"
    shutil.copytree(artifact, bare)
    (bare / UNCERTAINTY_FILE).unlink()
    models = {}
    for label, path in (("with", artifact), ("without", bare)):
        models[label] = LeadScoreModel(f"bench-{label}", PredictorSettings(model_uri=str(path), threads=1))
        models[label].load()
    out: dict[str, Any] = {}
    for size, reps in ((1, rounds), (100, max(rounds // 10, 50))):
        payload = {"instances": leads[:size]}
        times: dict[str, list[float]] = {"with": [], "without": []}
        for _ in range(reps):
            for label, model in models.items():
                start = time.perf_counter()
                model.postprocess(model.predict(model.preprocess(payload)))
                times[label].append((time.perf_counter() - start) * 1e6)
        row = {}
        for label, values in times.items():
            row[label] = {"p50_us": round(float(np.percentile(values, 50)), 1),
                          "p99_us": round(float(np.percentile(values, 99)), 1)}
        row["p50_ratio"] = round(row["with"]["p50_us"] / row["without"]["p50_us"], 3)
        row["p99_ratio"] = round(row["with"]["p99_us"] / row["without"]["p99_us"], 3)
        out[f"{size}_lead{'s' if size > 1 else ''}"] = row
    shutil.rmtree(bare.parent)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=2000, help="Single-lead requests per variant.")
    parser.add_argument("--skip-real", action="store_true", help="Synthetic leads only.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadscore-uncertainty-"))
    common = {"algorithms": ALGORITHMS, "trials": 1, "threads": 1, "seed": 42, "device": "cpu",
              "mlflow_uri": str(work / "mlruns")}
    synth_path = work / "synth.csv"
    synth.generate("pc", args.rows, seed=42).to_csv(synth_path, index=False)
    truth = synth.GROUND_TRUTH_COLUMNS[0]
    runs = [
        (TrainConfig(data=str(synth_path), output=str(work / "synth"), dataset=DatasetSpec(
            target=synth.TARGET, id_column=synth.ID_COLUMN, time_column="created_at",
            exclude=list(synth.GROUND_TRUTH_COLUMNS)), **common), truth),
        # the same leads split at random: calibration and test rows exchangeable, as the guarantee assumes
        (TrainConfig(data=str(synth_path), output=str(work / "synth-random"), dataset=DatasetSpec(
            target=synth.TARGET, id_column=synth.ID_COLUMN, exclude=[*synth.GROUND_TRUTH_COLUMNS, "created_at"]),
            **common), truth),
    ]
    if not args.skip_real:
        runs += [
            (TrainConfig(data=str(DATASETS / "bank_marketing.csv"), output=str(work / "bank"),
                         dataset=DatasetSpec(target="y", exclude=["duration"]), **common), None),
            (TrainConfig(data=str(DATASETS / "xeducation_leads.csv"), output=str(work / "xeducation"),
                         dataset=DatasetSpec(target="Converted", id_column="Prospect ID", exclude=XEDUCATION_LEAKS),
                         **{**common, "seed": 1}), None),
        ]
    results = []
    synthetic_artifact = None
    for config, truth in runs:
        result, artifact = measure(config, truth)
        synthetic_artifact = synthetic_artifact or artifact
        if "agreement_quintiles" not in result:  # a single model shipped: measure the ensemble it beat
            result["ensemble_agreement"] = ensemble_agreement(
                config.model_copy(update={"output": config.output + "-ensemble"}), truth)
        results.append(result)
        print(json.dumps({k: v for k, v in result.items() if k not in ("deciles", "agreement_quintiles")}))
    leads = json.loads(pd.read_csv(synth_path, nrows=200).drop(columns=[synth.TARGET, *synth.GROUND_TRUTH_COLUMNS])
                       .to_json(orient="records"))
    cost = latency(synthetic_artifact, leads, args.rounds) if synthetic_artifact else {}
    print(json.dumps(cost))
    document = {"measured": datetime.now(UTC).isoformat(timespec="seconds"), "fields": list(UNCERTAINTY_FIELDS),
                "algorithms": ALGORITHMS, "trials": 1, "datasets": results, "in_process_latency": cost}
    RESULTS.write_text(json.dumps(document, indent=1) + "\n")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()

"""``leadscore train --targets``: the models learn from graded targets (seed 001's mapping of a
lead's feedback), while calibration and every metric stay on the binary outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from trainer_helpers import FAST, synthetic_leads

from leadscore.data import synth
from leadscore.trainer import onnx_graph

pytestmark = pytest.mark.integration


def test_soft_targets_train_a_model_calibrated_on_the_binary_outcome(run_cli, tmp_path: Path) -> None:
    leads = synthetic_leads(3000, seed=31)
    graded = pd.concat([leads, synth.feedback(leads, seed=31)], axis=1)
    graded.to_parquet(tmp_path / "leads.parquet", index=False)
    output = tmp_path / "model"
    process = run_cli("train", "--data", "leads.parquet", "--target", "converted", "--id-col", "lead_id",
                      "--time-col", "created_at", *FAST, "--targets", '{"longViewSeconds": 240}',
                      "--mlflow-uri", "mlruns", "--output", str(output))
    assert process.returncode == 0, process.stderr[-3000:]
    card = json.loads((output / "model_card.json").read_text())
    targets = card["training"]["targets"]
    assert targets["source"] == "feedback" and targets["mapping"]["longViewSeconds"] == 240
    assert targets["graded_rows"] > 500
    rate = leads["converted"].mean()
    assert targets["mean_target"] > rate + 0.1  # the graded targets are far above the conversion rate ...
    metrics = card["metrics"]
    bins = [b for b in metrics["reliability"] if b["count"]]
    mean_predicted = sum(b["count"] * b["mean_predicted"] for b in bins) / metrics["rows"]
    assert abs(mean_predicted - metrics["positive_rate"]) < 0.04  # ... the probabilities are not: binary calibration
    assert 0.0 < metrics["positive_rate"] < 0.5 and metrics["roc_auc"] > 0.6
    assert not any(name.startswith("feedback.") for name in card["feature_names"])
    assert card["training"]["parity_max_abs_diff"] <= onnx_graph.PARITY_TOLERANCE


def test_targets_without_feedback_columns_fail_saying_what_is_missing(run_cli, leads_csv: Path,
                                                                       tmp_path: Path) -> None:
    process = run_cli("train", "--data", str(leads_csv), "--target", "converted", *FAST, "--targets", "{}",
                      "--mlflow-uri", "mlruns", "--output", str(tmp_path / "model"))
    assert process.returncode != 0
    assert "neither a target_score column nor feedback.* columns" in process.stderr


def test_a_bad_targets_mapping_is_refused_naming_the_field(run_cli, leads_csv: Path, tmp_path: Path) -> None:
    process = run_cli("train", "--data", str(leads_csv), "--target", "converted", *FAST,
                      "--targets", '{"quickArchive": 2}', "--output", str(tmp_path / "model"))
    assert process.returncode == 2
    assert "--targets: quickArchive" in process.stderr or "--targets: quick_archive" in process.stderr

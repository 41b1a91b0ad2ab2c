"""``leadscore train`` on a small, imbalanced table without a time column: the model is chosen on
cross-fitted margins over all non-test rows, and the conversion rate is flagged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from trainer_helpers import FAST, synthetic_leads

from leadscore.trainer import onnx_graph, refit

pytestmark = pytest.mark.integration


def test_few_validation_positives_select_on_cross_fitted_margins_and_warn_of_the_rate(run_cli, tmp_path: Path) -> None:
    leads = synthetic_leads(3000, seed=21).drop(columns=["created_at"])
    positives = leads.index[leads["converted"] == 1]
    keep = leads.drop(index=positives[120:])  # about 4 % converted: below the 5 % sanity bound
    keep.to_csv(tmp_path / "leads.csv", index=False)
    output = tmp_path / "model"
    process = run_cli("train", "--data", "leads.csv", "--target", "converted", "--id-col", "lead_id", *FAST,
                      "--mlflow-uri", "mlruns", "--output", str(output))
    assert process.returncode == 0, process.stderr[-3000:]
    card = json.loads((output / "model_card.json").read_text())
    split, final_fit = card["data"]["split"], card["training"]["final_fit"]
    assert split["strategy"] == "stratified"
    assert final_fit["selection"] == "cross-validation"
    assert final_fit["folds"] == refit.CV_FOLDS
    assert final_fit["rows"] == final_fit["selection_rows"] == split["train"] + split["valid"]
    assert final_fit["selection_positives"] == final_fit["positives"]
    assert 90 <= final_fit["positives"] < 120  # the test part's share is held back
    assert card["training"]["parity_max_abs_diff"] <= onnx_graph.PARITY_TOLERANCE
    assert any("below the usual 5%-95%" in w for w in card["data"]["warnings"])
    assert "warning: conversion rate" in process.stderr
    # few test positives and no time column: the k-fold estimate over every labelled row runs
    estimate = card["training"]["cross_validation"]
    assert estimate["folds"] == 5 and len(estimate["roc_auc_per_fold"]) == 5
    assert all(0.5 < auc <= 1.0 for auc in estimate["roc_auc_per_fold"])
    assert abs(estimate["roc_auc_mean"] - card["metrics"]["roc_auc"]) < 0.1  # the same configuration
    assert estimate["roc_auc_sd"] > 0 and "positives" in estimate["reason"]
    assert "k-fold ROC-AUC" in process.stderr

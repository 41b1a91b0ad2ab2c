"""``model_card.json``: what was trained, on what, how well, and what shipped (docs/architecture.md).

Serving reads the slice ``leadscore.api.artifact.ServingCard`` defines (``version``,
``threshold``, ``scoring``, ``members``); the operator and people read the rest. Plain
pydantic so it can be checked when read back.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from importlib import metadata
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from leadscore.api.artifact import IntervalCoverage, ServingMember
from leadscore.api.feedback import TargetsSpec
from leadscore.api.leadscoringmodel import ScoringSpec, TierCutoff
from leadscore.data import DatasetSchema, LeakFinding
from leadscore.trainer.ensemble import CandidateScore
from leadscore.trainer.metrics import Metrics

CARD_SCHEMA_VERSION = 1
LIBRARIES = ("leadscore", "numpy", "pandas", "scikit-learn", "xgboost", "lightgbm", "catboost", "optuna",
             "onnx", "onnxruntime", "onnxmltools", "skl2onnx", "mlflow")


class MemberCard(ServingMember):
    """One shipped model inside ``model.onnx``: what serving reads, and how it was trained."""

    params: dict[str, Any]
    iterations: int | None = Field(None, description="Boosting rounds kept after early stopping.")


class AlgorithmCard(BaseModel):
    """Every trained algorithm, shipped or not: its search and its calibrated held-out quality."""

    algorithm: str
    trials: int
    pruned: int
    seconds: float
    valid_log_loss: float = Field(description="Best trial's validation log loss after Platt scaling (the search's "
                                                "objective).")
    params: dict[str, Any]
    test: dict[str, float] = Field(description="Held-out metrics of the refitted model, calibrated on the "
                                               "selection rows alone.")


class TensorCard(BaseModel):
    name: str
    dtype: Literal["float32"] = "float32"
    shape: list[str | int]


class CalibrationCard(BaseModel):
    method: Literal["sigmoid", "isotonic"]
    input: str = "sum_i weight_i * margin_i (raw log-odds) over members"
    parameters: dict[str, Any]
    choice: str = Field(description="How the method was chosen.")


class BaselineComparison(BaseModel):
    algorithm: str = "lr"
    metrics: dict[str, float]
    roc_auc_gain: float = Field(description="Shipped minus baseline held-out ROC-AUC.")
    log_loss_reduction: float = Field(description="Relative held-out log-loss reduction (0.1 = 10 %).")
    brier_reduction: float
    beats_baseline: bool = Field(description="Higher held-out ROC-AUC than the baseline.")


class DataCard(BaseModel):
    uri: str
    fingerprint: str = Field(description="sha256 of the loaded rows and the inferred schema.")
    rows: int
    positive_rate: float
    split: dict[str, Any]
    leakage: list[LeakFinding]
    warnings: list[str] = Field(default_factory=list, description="Sanity warnings (e.g. the conversion rate).")
    data_schema: DatasetSchema = Field(alias="schema")

    model_config = {"populate_by_name": True}


class FinalFitCard(BaseModel):
    """Which rows chose the model and which rows it learned from (see ``leadscore.trainer.refit``)."""

    rows: int = Field(description="Rows the shipped models were refitted on: every non-test row.")
    positives: int
    selection: Literal["validation", "cross-validation"] = Field(
        description="Rows behind the model choice, blend weights, calibrator and threshold: the validation "
                    "part, or out-of-fold margins over all non-test rows when validation held too few positives.")
    selection_rows: int
    selection_positives: int
    folds: int | None = None
    rounds: dict[str, int] = Field(default_factory=dict,
                                   description="Boosting rounds of each refitted model (search's rounds, scaled).")
    reason: str


class TargetsCard(BaseModel):
    """What the models learned from when the model asked for graded targets (``spec.dataset.targets``)."""

    mapping: TargetsSpec
    source: Literal["target_score", "feedback"] = Field(description="The column(s) the targets came from.")
    graded_rows: int = Field(description="Non-test rows whose target lies strictly between 0 and 1.")
    mean_target: float = Field(description="Mean graded target of the non-test rows (their conversion rate is "
                                           "the binary one's).")
    learned_from: str = Field(description="What learned from what.")


class CrossValidationCard(BaseModel):
    """The shipped configuration's k-fold ROC-AUC over every labelled row (``trainer.estimate``)."""

    folds: int = Field(description="Folds run; 0 when none (see reason).")
    roc_auc_mean: float | None = None
    roc_auc_sd: float | None = Field(None, description="Standard deviation over the folds.")
    roc_auc_per_fold: list[float] = Field(default_factory=list)
    reason: str = Field(description="Why it ran or did not. It sits beside the test part's ROC-AUC, never "
                                    "instead of it: the configuration was chosen without the test rows.")


class EngineCard(BaseModel):
    """Where the training ran (``--engine``) and which algorithms ran where: with ``ray`` some train
    data-parallel on the cluster, the baseline on the driver, and the rest cannot train at all."""

    engine: Literal["local", "ray"]
    data_parallel: dict[str, int] = Field(
        default_factory=dict, description="Algorithms trained data-parallel on the Ray cluster, with the Ray "
                                          "workers of their refits (a search trial gets its share: workers / "
                                          "parallel_trials, at least one).")
    parallel_trials: int = Field(1, description="Search trials of each data-parallel algorithm in flight at once.")
    on_driver: list[str] = Field(default_factory=list,
                                 description="Algorithms trained in the driver process over every training row.")
    not_available: list[str] = Field(default_factory=list,
                                     description="Algorithms this engine cannot train (refused by name when asked "
                                                 "for, so never in this model).")


class TrainingCard(BaseModel):
    seconds: float
    device: Literal["cpu", "cuda"]
    seed: int
    trials_per_algorithm: int
    time_budget_seconds: float | None
    parity_max_abs_diff: float
    libraries: dict[str, str]
    final_fit: FinalFitCard | None = Field(None, description="Absent in cards written before the refit existed.")
    targets: TargetsCard | None = Field(None, description="Graded targets, when used (absent: the binary outcome).")
    cross_validation: CrossValidationCard | None = Field(None, description="Absent in cards written before it existed.")
    feature_pipeline_rows: int | None = Field(
        None, description="Training rows the feature pipeline was fitted on (featureSample; absent in cards written "
                          "before it existed, which fitted it on every training row).")
    engine: EngineCard | None = Field(None, description="Absent in cards written before it existed (those trained "
                                                        "locally or, with engine ray, did not say).")


class ChampionCard(BaseModel):
    """The version serving when this one was trained, scored on this version's held-out rows."""

    uri: str
    version: str = ""
    metrics: dict[str, float] | None = Field(None, description="roc_auc, pr_auc, log_loss, brier on the same rows.")
    error: str | None = Field(None, description="Why it could not be scored (the gate then uses its stored AUC).")


class FeatureImportance(BaseModel):
    feature: str = Field(description="Encoded feature the model reads.")
    field: str = Field(description="Raw lead field it is computed from.")
    mean_abs_contribution: float = Field(description="Mean |contribution| in log-odds (uncalibrated score).")


class ModelCard(BaseModel):
    schema_version: int = CARD_SCHEMA_VERSION
    model_name: str
    version: str
    created: datetime
    vertical: str | None = None
    input: TensorCard
    output: TensorCard
    feature_names: list[str]
    shipped: str = Field(description="'ensemble' (the weighted blend), 'stacking' (the logistic meta-learner) or the "
                                    "single algorithm that ships.")
    shipped_reason: str
    members: list[MemberCard]
    calibration: CalibrationCard
    threshold: float = Field(description="Probability cut-off for precision/recall/F1 (best F1 on validation).")
    metrics: Metrics = Field(description="Held-out test metrics of the shipped model.")
    baseline: BaselineComparison
    algorithms: list[AlgorithmCard]
    candidates: list[CandidateScore] = Field(description="Cross-fitted validation scores behind the choice.")
    data: DataCard
    training: TrainingCard
    scoring: ScoringSpec = Field(description="Tier thresholds and actions (serving reads them: ServingCard).")
    score_histogram: list[int] = Field(description="Held-out test leads per score 0-100 (serving resolves "
                                                   "tiers set by share on it).")
    tiers: list[TierCutoff] = Field(description="Each tier's score cut-off, resolved from `scoring` on the held-out "
                                                "scores, and the share of held-out leads it got (the tier mix).")
    interval: IntervalCoverage | None = Field(
        None, description="The Venn-ABERS intervals (uncertainty.json) on the held-out test rows: mean width and "
                          "confidence, mean agreement, and per decile of p0 whether the observed rate lies "
                          "within the interval (None in cards older than intervals).")
    champion: ChampionCard | None = Field(
        None, description="The serving version on the same held-out rows (`--champion`), for a fair gate.")
    feature_importance: list[FeatureImportance] = Field(
        default_factory=list,
        description="What drives the shipped model's scores overall: features by mean absolute contribution "
                    "to the log-odds (TreeSHAP / exact linear terms, weighted like the ensemble) on up to "
                    "5,000 held-out test rows, largest first.")


def data_fingerprint(frame: pd.DataFrame, schema: DatasetSchema) -> str:
    """Stable hash of the rows (values and column names, in order) and the schema."""
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(np.ascontiguousarray(pd.util.hash_pandas_object(frame, index=False).to_numpy()).tobytes())
    digest.update(schema.model_dump_json().encode())
    return f"sha256:{digest.hexdigest()}"


def library_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def compare_to_baseline(shipped: Metrics, baseline: Metrics) -> BaselineComparison:
    return BaselineComparison(
        metrics=baseline.headline(),
        roc_auc_gain=shipped.roc_auc - baseline.roc_auc,
        log_loss_reduction=1.0 - shipped.log_loss / baseline.log_loss,
        brier_reduction=1.0 - shipped.brier / baseline.brier,
        beats_baseline=shipped.roc_auc > baseline.roc_auc,
    )

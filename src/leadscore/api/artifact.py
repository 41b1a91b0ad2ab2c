"""A published model version's artifact directory: the contract between the trainer, which
writes it, and everything that reads it (the predictor, ``leadscore score``/``evaluate``, the
champion scorer, explanations, the store's publisher and the operator).

trainer/CONTRACT.md describes the files; the names, the commit marker, the ONNX tensor names
and the part of ``model_card.json`` that serving reads are defined here and nowhere else.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leadscore.api.leadscoringmodel import ScoringSpec

MODEL_FILE = "model.onnx"
SPEC_FILE = "feature_spec.json"
CARD_FILE = "model_card.json"
RESULT_FILE = "result.json"
BOOSTERS_DIR = "boosters"
"""Native models of the shipped members; only explanations read them."""
PARITY_ROWS_FILE = "parity_rows.npy"
"""Encoded held-out rows (float32 [n, F], ``numpy.save``): a faster scoring engine is used only
after it matches ``model.onnx`` on them (``leadscore.engines``). Artifacts trained before it
lack it and score with ``model.onnx`` alone."""
COMMIT_MARKER = RESULT_FILE
"""Written last: a version without it is unfinished, and readers treat it as absent."""
REQUIRED_FILES = (MODEL_FILE, SPEC_FILE, CARD_FILE)
"""What scoring needs; a directory lacking one is not a model."""

INPUT_TENSOR = "features"
"""``model.onnx``'s input: float32 [N, F], the encoded features."""
OUTPUT_TENSOR = "probability"
"""``model.onnx``'s output: float32 [N], the calibrated conversion probability."""
MEMBERS_TENSOR = "member_margins"
"""``model.onnx``'s second output in ensembles: float64 [N, M], each member's margin (log-odds) in
the card's ``members`` order; agreement is computed from it. Absent for a single model and in
versions trained before agreement existed."""
UNCERTAINTY_FILE = "uncertainty.json"
"""The Venn-ABERS table and the members' own calibrations (``leadscore.uncertainty.Uncertainty``);
optional: a version without it is served with ``interval``, ``confidence`` and ``agreement`` null."""


class MemberCalibration(BaseModel):
    """One ensemble member's own Platt calibration of its margin (log-odds)."""

    algorithm: str
    a: float
    b: float


class IntervalCoverage(BaseModel):
    """How the intervals did on the held-out test rows (what the card's summary shows)."""

    rows: int = Field(description="Held-out test rows measured.")
    mean_width: float = Field(description="Mean p1 - p0.")
    mean_confidence: float
    observed_rate: float = Field(description="Conversion rate of the test rows.")
    mean_p0: float
    mean_p1: float
    bins_within: int = Field(description="Bins (deciles of p0) whose observed rate lies in [mean p0 - 2 se, "
                                         "mean p1 + 2 se].")
    bins: int
    mean_agreement: float | None = Field(None, description="Mean agreement (None for a single model).")


class Uncertainty(BaseModel):
    """``uncertainty.json``: the precomputed Venn-ABERS table and the members' own calibrations
    (``leadscore.uncertainty`` fits and applies it and says what the numbers mean)."""

    scores: list[float] = Field(description="Distinct calibration scores, ascending (k).")
    p0_between: list[float] = Field(description="p0 for a score below scores[0] (index 0), between scores[i-1] "
                                                "and scores[i] (index i), above scores[-1] (index k).")
    p1_between: list[float]
    p0_at: list[float] = Field(description="p0 for a score equal to scores[i].")
    p1_at: list[float]
    calibration_rows: int
    members: list[MemberCalibration] = Field(default_factory=list,
                                             description="Per member, in model.onnx's member_margins order.")

MEMBER_MARGIN = "margin"
"""Each member's raw log-odds inside ``model.onnx``, named by ``member_tensor``."""
MEMBER_REFERENCE = "leadscore.reference"
"""Metadata key of a member saved as its own ONNX graph under ``boosters/`` (random forest, MLP):
the JSON list of training medians its explanations start from (``leadscore.explain``)."""


def member_tensor(member: str, name: str) -> str:
    """A member's tensor inside ``model.onnx``: the export prefixes every name of a member's graph
    with its algorithm, so ``member_tensor("xgboost", MEMBER_MARGIN)`` is XGBoost's margin."""
    return f"{member}__{name}"


def artifact_uri(root: str, namespace: str, model: str, version: str) -> str:
    """Where a version lives: ``<root>/<namespace>/<model>/<version>/`` (docs/architecture.md), with the
    trailing slash KServe expects. The operator writes there; the export reads the card there."""
    return f"{root.rstrip('/')}/{namespace}/{model}/{version}/"


class ServingMember(BaseModel):
    """One shipped model inside ``model.onnx``, as explanations read it."""

    model_config = ConfigDict(extra="ignore")

    algorithm: str
    weight: float = Field(description="Weight of its margin (log-odds) in the blended score.")
    native_file: str = Field(description="Path of the native model, relative to the artifact directory.")


class LinearParameters(BaseModel):
    """``boosters/lr.json``: the logistic baseline's margin is
    ``((impute(x) - scale_mean) / scale_std) @ coef + intercept``, missing values imputed by
    ``impute_median`` (the export, the explanations and the numpy engine compute the same)."""

    model_config = ConfigDict(extra="ignore")

    impute_median: list[float]
    scale_mean: list[float]
    scale_std: list[float]
    coef: list[float]
    intercept: float


class ServingCalibration(BaseModel):
    """The calibrator applied to the members' weighted margin, as the trainer fitted it."""

    model_config = ConfigDict(extra="ignore")

    method: str = Field(description="'sigmoid' (parameters a, b) or 'isotonic' (knots x, y).")
    parameters: dict[str, Any]


class ServingCard(BaseModel):
    """The slice of ``model_card.json`` that serving reads; the trainer's card holds more."""

    model_config = ConfigDict(extra="ignore")

    version: str = ""
    created: datetime | None = Field(None, description="When the version was trained.")
    vertical: str | None = Field(None, description="Business vertical it was trained for (responses carry it; "
                                                   "`collector export --vertical` reads it).")
    shipped: str = Field("", description="'ensemble' or the single algorithm that ships (the model type).")
    threshold: float = Field(0.5, description="Probability cut-off behind precision/recall/F1.")
    scoring: ScoringSpec = Field(default_factory=ScoringSpec,
                                 description="Tier thresholds and actions; the defaults when none is recorded.")
    members: list[ServingMember] = Field(default_factory=list)
    calibration: ServingCalibration | None = Field(None, description="Absent in hand-made cards: scoring then "
                                                                     "uses model.onnx alone.")
    score_histogram: list[int] = Field(
        default_factory=list, description="Held-out leads per score 0-100: what tiers set by topPercent are "
                                          "resolved on (empty in cards older than share-based tiers).")

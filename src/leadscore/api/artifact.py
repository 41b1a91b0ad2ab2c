"""A published model version's artifact directory: the contract between the trainer, which
writes it, and everything that reads it (the predictor, ``leadscore score``/``evaluate``, the
champion scorer, explanations, the store's publisher and the operator).

trainer/CONTRACT.md describes the files; the names, the commit marker, the ONNX tensor names
and the part of ``model_card.json`` that serving reads are defined here and nowhere else.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from leadscore.api.leadscoringmodel import ScoringSpec

MODEL_FILE = "model.onnx"
SPEC_FILE = "feature_spec.json"
CARD_FILE = "model_card.json"
RESULT_FILE = "result.json"
BOOSTERS_DIR = "boosters"
"""Native models of the shipped members; only explanations read them."""
COMMIT_MARKER = RESULT_FILE
"""Written last: a version without it is unfinished, and readers treat it as absent."""
REQUIRED_FILES = (MODEL_FILE, SPEC_FILE, CARD_FILE)
"""What scoring needs; a directory lacking one is not a model."""

INPUT_TENSOR = "features"
"""``model.onnx``'s input: float32 [N, F], the encoded features."""
OUTPUT_TENSOR = "probability"
"""``model.onnx``'s output: float32 [N], the calibrated conversion probability."""


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
    score_histogram: list[int] = Field(
        default_factory=list, description="Held-out leads per score 0-100: what tiers set by topPercent are "
                                          "resolved on (empty in cards older than share-based tiers).")

"""The trainer's result: what a training Job reports and the operator reads back.

Written by the trainer to ``result.json`` in the artifact directory and to the Job's
termination-message path; parsed by the operator. Keep it small: a termination message
is capped at 4096 bytes by the kubelet, so only headline metrics travel here (the full
evaluation lives in ``model_card.json``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from leadscore.api.leadscoringmodel import TierCutoff

RESULT_SCHEMA_VERSION = 1

NAMESPACE_TAG, MODEL_TAG, VERSION_TAG, JOB_TAG = ("leadscore.namespace", "leadscore.model",
                                                   "leadscore.version", "leadscore.job")
"""Tags on every MLflow registered model version the trainer creates (and on its run)."""
CHAMPION_ALIAS, CHALLENGER_ALIAS = "champion", "challenger"
"""MLflow aliases the operator keeps in step with the LeadScoringModel: the active version and an
experiment's treatment."""


def registered_model_name(namespace: str, model: str) -> str:
    """The MLflow registered model of one LeadScoringModel: ``<namespace>.<model>``, so ``pc-leads``
    in two namespaces are two registered models (a namespace has no dots, so the name is unambiguous)."""
    return f"{namespace}.{model}"


class TrainingResult(BaseModel):
    """One training run's outcome, successful or not."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = RESULT_SCHEMA_VERSION
    status: Literal["Succeeded", "Failed"]
    reason: str = Field("", description="CamelCase reason when status is Failed, e.g. LeakyColumns.")
    message: str = Field("", description="One-line human explanation; copied into conditions.")
    model_name: str = ""
    version: str = Field("", description="Version label, e.g. v3 or a timestamp label.")
    artifact_uri: str = Field("", description="Directory or s3:// prefix of the artifact.")
    mlflow_run_id: str = ""
    mlflow_model_version: str = ""
    mlflow_registered_model: str = Field("", description="Registered model the version belongs to.")
    shipped: str = Field("", description="What shipped: an algorithm name or 'ensemble'.")
    metrics: dict[str, float] = Field(
        default_factory=dict, description="Held-out headline metrics (roc_auc, pr_auc, brier, ...).")
    created: datetime | None = None
    device: str = ""
    tiers: list[TierCutoff] = Field(default_factory=list,
                                    description="Tier cut-offs resolved on the held-out scores (the card's).")

    def to_termination_message(self) -> str:
        """JSON that fits the kubelet's 4096-byte termination-message limit."""
        text = self.model_dump_json(exclude_none=True)
        if len(text.encode()) <= 4096:
            return text
        slim = self.model_copy(update={"metrics": {k: v for k, v in self.metrics.items()
                                                   if k in HEADLINE_METRICS},
                                       "message": self.message[:512]})
        return slim.model_dump_json(exclude_none=True)


HEADLINE_METRICS = ("roc_auc", "pr_auc", "brier", "log_loss", "lift_at_10", "baseline_roc_auc")


class TrainingProgress(BaseModel):
    """Where a running training is (``<artifact>.progress.json``, beside the version's directory):
    written by the trainer at every stage and trial and removed when it ends; read by the
    operator into ``status.training.stage`` while the Job runs."""

    model_config = ConfigDict(extra="ignore")

    stage: str = Field(description="e.g. 'loading s3://…', 'tuning lightgbm 12/25 best 0.3987', 'exporting …'.")
    at: datetime


def progress_uri(artifact_uri: str) -> str:
    """The progress file of the version at ``artifact_uri`` (outside the version's immutable directory)."""
    return artifact_uri.rstrip("/") + ".progress.json"

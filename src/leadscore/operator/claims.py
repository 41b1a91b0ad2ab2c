"""Who serves a model's traffic: the rules both reconcilers read, pure.

An ABExperiment's reconciler states what it wants on its own object (``status.claim``, then
``status.winnerVersion``); the operator keeps those in a kopf index keyed by the model they name,
and the LeadScoringModel's reconciler, the only writer of the model's status and its
InferenceService, serves the oldest valid claim and lets it go when the claim is withdrawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from leadscore.api import conditions as c
from leadscore.api.abexperiment import RULES, ServingClaim, splits_in_kserve
from leadscore.api.leadscoringmodel import ExperimentBinding, LeadScoringModelSpec, LeadScoringModelStatus
from leadscore.operator.deployment_mode import can_split


@dataclass(frozen=True)
class ExperimentIntent:
    """What one ABExperiment asks of its model, as the index holds it."""

    name: str
    created: str
    """metadata.creationTimestamp (RFC 3339, so it sorts as text): the oldest claim is served first."""
    claim: ServingClaim | None
    winner_version: str | None


def intent_of(metadata: Mapping[str, Any], status: Mapping[str, Any]) -> ExperimentIntent:
    """The index entry of one ABExperiment body (its status is written by the operator only)."""
    claim = status.get("claim")
    return ExperimentIntent(name=str(metadata["name"]), created=str(metadata.get("creationTimestamp") or ""),
                            claim=ServingClaim.model_validate(claim) if claim else None,
                            winner_version=status.get("winnerVersion"))


def arms_problem(model_name: str, claim: ServingClaim, model: LeadScoringModelSpec,
                 status: LeadScoringModelStatus, mode: str) -> tuple[str, str] | None:
    """(reason, message) when ``claim`` cannot split this model's traffic now, else None; ``mode``
    is the KServe deployment mode of the model's InferenceService."""
    if model.serving.pinned_version:
        return c.MODEL_PINNED, (f"model {model_name} is pinned to {model.serving.pinned_version} "
                                "(spec.serving.pinnedVersion); unpin it to run an experiment")
    available = [v.version for v in status.versions if not v.artifacts_deleted]
    for arm, version in (("control", claim.control), ("treatment", claim.treatment)):
        if version != RULES and version not in available:
            return c.ARM_VERSION_MISSING, (f"{arm}.version {version} is not a version of model "
                                           f"{model_name} (available: {', '.join(available) or 'none'})")
    if not splits_in_kserve(claim.assignment, claim.control, claim.treatment):
        return None
    if not can_split(mode):
        return c.RANDOM_SPLIT_UNAVAILABLE, (
            f"assignment random of two model versions is KServe's canary split, which KServe does only in "
            f"Knative mode; model {model_name}'s InferenceService runs in {mode} mode, where the split "
            f"would not happen; use assignment: sticky (the predictor splits the leads in any mode)")
    if claim.control != status.active_version:
        return c.CONTROL_NOT_SERVING, (
            f"assignment random splits KServe traffic away from the served version, so control.version "
            f"must be {status.active_version}, got {claim.control}; use assignment sticky instead")
    return None


def released(bound: ExperimentBinding | None, intents: Iterable[ExperimentIntent]) -> ExperimentIntent | None:
    """The bound experiment's last word once it withdrew its claim or was deleted (then with no
    winner), else None: the model lets it go, promoting its ``winner_version`` if any."""
    if bound is None:
        return None
    intent = next((i for i in intents if i.name == bound.name), None)
    if intent is None:
        return ExperimentIntent(name=bound.name, created="", claim=None, winner_version=None)
    return intent if intent.claim is None else None


def waiting(intents: Iterable[ExperimentIntent]) -> list[ExperimentIntent]:
    """Claims in the order the model serves them: oldest experiment first, then by name."""
    return sorted((i for i in intents if i.claim is not None), key=lambda i: (i.created, i.name))


def out_of_step(bound: ExperimentBinding | None, intents: Iterable[ExperimentIntent]) -> bool:
    """Whether the model's status.experiment and its experiments' claims disagree (the model has a
    claim to serve or one to let go): the cheap, in-memory test of the model's claim timer."""
    intents = list(intents)
    if bound is None:
        return bool(waiting(intents))
    return released(bound, intents) is not None

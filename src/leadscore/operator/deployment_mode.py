"""KServe's deployment modes and the one rule for who splits an experiment's traffic.

KServe (v0.20, the version the tests run) serves an InferenceService either as Knative
revisions ("Knative", formerly "Serverless") or as a plain Deployment and Service
("Standard", formerly "RawDeployment"). Only Knative weights traffic between the previous and
the new revision (``canaryTrafficPercent``). In Standard mode ``canaryTrafficPercent`` is
ignored, and ``spec.canary`` creates a Deployment and Service per canary whose Ingress still
routes every request to the stable predictor (tests/integration/kserve shows both against the
real controller), so no percentage split happens there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
CONFIG_MAP_NAME = "inferenceservice-config"
"""KServe's cluster configuration (in KServe's namespace); ``deploy`` holds the default mode."""
STANDARD, KNATIVE = "Standard", "Knative"
_LEGACY = {"RawDeployment": STANDARD, "Serverless": KNATIVE}
KSERVE_DEFAULT_MODE = STANDARD
"""What KServe 0.20 does when its ConfigMap names no mode."""


def normalize(mode: str) -> str:
    """KServe's current name for a mode (it still accepts the legacy names)."""
    return _LEGACY.get(mode, mode)


def cluster_default_mode(config_map_data: Mapping[str, str] | None) -> str:
    """``deploy.defaultDeploymentMode`` of KServe's ConfigMap data, else KServe's default."""
    raw = (config_map_data or {}).get("deploy")
    if not raw:
        return KSERVE_DEFAULT_MODE
    try:
        mode = json.loads(raw).get("defaultDeploymentMode")
    except (json.JSONDecodeError, AttributeError):
        return KSERVE_DEFAULT_MODE
    return normalize(mode) if isinstance(mode, str) and mode else KSERVE_DEFAULT_MODE


def annotated_mode(isvc: Mapping[str, Any] | None) -> str | None:
    """An InferenceService's mode annotation (KServe's defaulting webhook writes it when the
    cluster's default is Standard; Knative clusters leave it unset), normalized; else None."""
    annotations = ((isvc or {}).get("metadata") or {}).get("annotations") or {}
    mode = annotations.get(DEPLOYMENT_MODE_ANNOTATION)
    return normalize(mode) if mode else None


def can_split(mode: str) -> bool:
    """Whether KServe weights traffic between two versions in ``mode`` (Knative only)."""
    return normalize(mode) == KNATIVE

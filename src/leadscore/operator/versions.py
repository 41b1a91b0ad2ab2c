"""Names the operator can work out from a CR alone: versions, children, artifact paths, hashes.

Versions are ``v1``, ``v2``, ... in training order. A number is never reused, even when its
training failed: the failed Job keeps its name until its TTL runs out, and a second Job of the
same name would be refused.
"""

from __future__ import annotations

import hashlib
import json
import re

from leadscore.api.leadscoringmodel import LeadScoringModelSpec, LeadScoringModelStatus

# Defined in leadscore.api.wire; the operator's modules read them here.
from leadscore.api.wire import COMPONENT_LABEL as COMPONENT_LABEL
from leadscore.api.wire import EXPERIMENT_ANNOTATION as EXPERIMENT_ANNOTATION
from leadscore.api.wire import MANAGED_BY as MANAGED_BY
from leadscore.api.wire import MODEL_LABEL as MODEL_LABEL
from leadscore.api.wire import RETRAIN_ANNOTATION as RETRAIN_ANNOTATION
from leadscore.api.wire import SPEC_HASH_ANNOTATION as SPEC_HASH_ANNOTATION
from leadscore.api.wire import TRIGGER_ANNOTATION as TRIGGER_ANNOTATION
from leadscore.api.wire import VERSION_LABEL as VERSION_LABEL

_VERSION = re.compile(r"^v([1-9][0-9]*)$")



def version_number(version: str) -> int:
    match = _VERSION.match(version)
    if match is None:
        raise ValueError(f"not a version label: {version!r} (expected v1, v2, ...)")
    return int(match.group(1))


def next_version(status: LeadScoringModelStatus) -> str:
    """One more than any version recorded or in training."""
    used = [version_number(v.version) for v in status.versions]
    if status.training is not None:
        used.append(version_number(status.training.version))
    return f"v{max(used, default=0) + 1}"


def job_name(model: str, version: str) -> str:
    """``<model>-train-<version>``; the CRD caps model names at 40 characters, so this fits 63."""
    return f"{model}-train-{version}"


def training_spec_hash(spec: LeadScoringModelSpec) -> str:
    """Fingerprint of what a training depends on; serving, promotion or scoring edits do not retrain."""
    relevant = spec.model_dump(mode="json", by_alias=True, include={"vertical", "dataset", "training"})
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]

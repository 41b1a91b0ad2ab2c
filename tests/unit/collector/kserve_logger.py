"""CloudEvents exactly as KServe's inference-logger agent posts them (binary mode).

Mirrors ``pkg/logger/worker.go`` of KServe 0.15+: Go's canonical header casing, ``Ce-Id``
shared by both halves, the extensions ``inferenceservicename``, ``namespace``, ``component``,
``endpoint``, ``metadata`` (always present, ``{}`` when no header is forwarded) and
``annotations`` (only when the ISVC lists some in ``logger.metadataAnnotations``), and the
request's ``Content-Type`` on both halves.
"""

from __future__ import annotations

import json
from typing import Any

REQUEST = "org.kubeflow.serving.inference.request"
RESPONSE = "org.kubeflow.serving.inference.response"


def headers(
    event_id: str,
    kind: str,
    *,
    isvc: str = "lead-model",
    namespace: str = "sales",
    endpoint: str = "",
    experiment: str | None = None,
    time: str | None = None,
    metadata: dict[str, list[str]] | None = None,
) -> dict[str, str]:
    """Binary-mode headers of one logged half; ``experiment`` becomes the ISVC annotation and
    ``metadata`` holds the forwarded request headers (``logger.metadataHeaders``), as Go's
    ``http.Header``: canonical names, a list of values each."""
    result = {
        "Ce-Id": event_id,
        "Ce-Type": REQUEST if kind == "request" else RESPONSE,
        "Ce-Source": f"http://localhost:9081/{isvc}",
        "Ce-Specversion": "1.0",
        "Ce-Inferenceservicename": isvc,
        "Ce-Namespace": namespace,
        "Ce-Component": "predictor",
        "Ce-Endpoint": endpoint,
        "Ce-Metadata": json.dumps(metadata or {}),
        "Content-Type": "application/json",
    }
    if time:
        result["Ce-Time"] = time
    if experiment:
        result["Ce-Annotations"] = json.dumps({"leadscoring.io/experiment": experiment})
    return result


def lead(lead_id: str, **fields: Any) -> dict[str, Any]:
    """A lead record as a CRM sends it to ``:predict``."""
    return {"lead_id": lead_id, "source": "web", "annual_income": 52000.0, "pages_viewed": 7, **fields}


def request_body(*lead_ids: str) -> bytes:
    return json.dumps({"instances": [lead(i) for i in lead_ids]}).encode()


def scored(lead_id: str, probability: float = 0.82, *, version: str = "v3", arm: str | None = None) -> dict[str, Any]:
    """One entry of our predictor's V1 response."""
    entry: dict[str, Any] = {
        "lead_id": lead_id,
        "probability": probability,
        "score": round(probability * 100),
        "tier": "high" if probability >= 0.8 else "low",
        "action": "immediate_assignment",
        "model_version": version,
    }
    if arm:
        entry["arm"] = arm
    return entry


def response_body(*entries: dict[str, Any]) -> bytes:
    return json.dumps({"predictions": list(entries)}).encode()

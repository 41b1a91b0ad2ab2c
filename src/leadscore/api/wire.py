"""The names components exchange at run time, defined once: the arms of an experiment, the
labels and annotations on the objects the operator owns, and the shape of a scoring request
that both the predictor and the collector (which reads the predictor's logged requests) parse."""

from __future__ import annotations

from typing import Literal

GROUP = "leadscoring.io"
"""The API group of the CRDs; also the prefix of our labels and annotations."""

CONTROL = "control"
TREATMENT = "treatment"
"""The two arms of an ABExperiment, as the predictor tags responses and the collector counts them."""

MODEL_LABEL = f"{GROUP}/model"
VERSION_LABEL = f"{GROUP}/version"
COMPONENT_LABEL = "app.kubernetes.io/component"
MANAGED_BY = {"app.kubernetes.io/managed-by": "leadscore-operator"}
RETRAIN_ANNOTATION = f"{GROUP}/retrain"
"""Set (to any new value) on a LeadScoringModel to retrain now."""
EXPERIMENT_ANNOTATION = f"{GROUP}/experiment"
"""On an InferenceService: the ABExperiment splitting it; KServe's logger forwards it to the collector."""
SPEC_HASH_ANNOTATION = f"{GROUP}/spec-hash"
TRIGGER_ANNOTATION = f"{GROUP}/trigger"

Device = Literal["auto", "cpu", "cuda"]
"""Where the trainer trains and the predictor scores (``--device``, ``LEADSCORE_DEVICE``): CUDA
when it is there, the CPU, or CUDA only."""

ComputeEngine = Literal["local", "ray"]
"""Where ``leadscore train`` and ``leadscore score`` run (``--engine``): this process, or a Ray
cluster (``--ray-address``, else ``$RAY_ADDRESS``, else a local one; docs/scale.md)."""

RAY_VERSION = "2.60.0"
"""The Ray in the trainer-ray image (pyproject's ``ray`` extra), told to KubeRay as a RayJob's
``rayVersion``; a unit test holds it to the installed Ray."""

RECORDS_TENSOR = "records"
"""A V2 request's BYTES input of JSON lead records (one per element)."""
MAX_BATCH = 10_000
"""Most leads in one scoring request: the predictor's default limit, and what the collector accepts."""

TRACE_CONTEXT_HEADERS = ("Traceparent", "Tracestate")
"""W3C trace-context request headers KServe's logger forwards to the collector (the
InferenceService's ``logger.metadataHeaders``). Spelled as Go canonicalises header names: the
agent keeps a header only when its canonical name is listed exactly (``pkg/logger/handler.go``)."""

"""Drift of what a model version was actually served, against its training reference.

The reference profile is read from the version's artifact (``model``: the directory or
``s3://`` prefix the operator lists in ``status.versions[].artifact``) and kept in memory:
a published version never changes. The sample is every prediction the service made with that
version in the window, as the request carried it (the logger's request half); predictions
whose request half never arrived count as all-missing, so a logger that drops requests shows
up as drift in every missing share rather than being hidden.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import numpy as np

from leadscore.api.health import DriftWindow
from leadscore.monitoring.drift import DriftThresholds, compare
from leadscore.monitoring.profile import PROFILE_FILE, ReferenceProfile, record_columns
from leadscore.store import artifacts, events
from leadscore.store.events import EventStore


@lru_cache(maxsize=32)
def reference_profile(model: str) -> ReferenceProfile:
    """``reference_profile.json`` of a published version (``StorageError`` when it has none)."""
    return ReferenceProfile.model_validate_json(artifacts.read_bytes(artifacts.join(model, PROFILE_FILE)))


def drift_window(store: EventStore, namespace: str, service: str, version: str, model: str,
                 since: datetime, until: datetime, thresholds: DriftThresholds) -> DriftWindow:
    """The drift report of one window (``InsufficientDataError`` below ``thresholds.min_rows``)."""
    profile = reference_profile(model)
    with store.transaction() as session:
        rows = events.served_window(session, events.in_window(namespace, service, version, since, until))
    columns = record_columns([r.features for r in rows], [f.name for f in profile.fields])
    report = compare(profile, columns, len(rows), np.fromiter((r.probability for r in rows), np.float64, len(rows)),
                     thresholds)
    return DriftWindow(**report.model_dump(), namespace=namespace, service=service, model_version=version,
                       since=since, until=until, rows=len(rows))

"""Scored leads joined with their outcomes, as a Parquet training set: the retraining loop.

One namespace (and optionally one model, or the models of one vertical) per file: a model never
retrains on another team's, another model's or another vertical's leads. A model has one
vertical; a version's is the one its model card records (``--vertical`` reads the card of every
version that scored in the window, under ``<artifact root>/<namespace>/<model>/<version>/``).
One row per lead that has features (the logged request) and at least one outcome:

* features: the lead record exactly as the predictor received it, nested objects flattened
  to ``parent.child`` columns, so ``leadscore train`` sees the same columns it trained on;
* ``lead_id`` (id column), ``predicted_at`` (time column: when the lead was first scored
  since ``--since``, which keeps the trainer's time-aware split honest);
* ``converted`` (target, 0/1): 1 when any outcome of the lead says converted;
* when any exported lead has feedback (``POST .../feedback`` or ``.../feedback/implicit``), the
  ``feedback.*`` columns (``leadscore.api.feedback.SIGNAL_COLUMNS``): what each lead's feedback
  said (a convert action, the latest rating, a contact and its success, the longest view and the
  quickest archive in seconds, the number of feedback rows). They are known only after the lead
  was worked, so the trainer never uses them as features; with ``spec.dataset.targets`` it maps
  them to a graded target (docs/trainer.md). Leads with feedback but no outcome stay out, as above.

Leads with no outcome yet are left out rather than counted as lost: "not converted yet"
is not a label. The old model's probability, score and tier are left out too, so a new
model never learns from its predecessor's opinion, and so is the outcome's value, which
is only known after the fact (a leaky column).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from leadscore.api.artifact import CARD_FILE, ServingCard, artifact_uri
from leadscore.api.feedback import SIGNAL_COLUMNS, LeadSignals
from leadscore.collector.feedback import lead_signals
from leadscore.collector.privacy import Privacy
from leadscore.errors import ConfigError, DatasetError, StorageError
from leadscore.store import artifacts, events
from leadscore.store.events import EventStore

ID_COLUMN = "lead_id"
TIME_COLUMN = "predicted_at"
TARGET_COLUMN = "converted"


@dataclass(frozen=True)
class ScoredRecord:
    lead_id: str
    features: dict[str, Any] | None
    predicted_at: datetime


@dataclass(frozen=True)
class ExportReport:
    """What the export wrote and what it had to leave out."""

    output: str
    rows: int
    converted: int
    without_outcome: int
    without_features: int
    other_vertical: tuple[str, ...] = ()
    """``model/version`` of the versions ``--vertical`` left out (another vertical, or no card)."""


def _uniform_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns whose values mix types (``12345`` and ``"02134"``) become text, which Parquet can hold.

    CRMs are not consistent about such fields; the trainer's schema inference decides later
    whether the text is numeric, categorical or a date.
    """
    for name in frame.select_dtypes(include="object").columns:
        if frame[name].dropna().map(type).nunique() > 1:
            frame[name] = frame[name].map(lambda v: v if pd.isna(v) else str(v))
    return frame


_NUMERIC_SIGNALS = ("rating", "longest_view_seconds", "quickest_archive_seconds")


def _feedback_columns(lead_ids: list[str], signals: dict[str, LeadSignals]) -> pd.DataFrame:
    """The ``feedback.*`` columns of ``lead_ids`` (none when no lead among them has feedback)."""
    if not any(lead_id in signals for lead_id in lead_ids):
        return pd.DataFrame()
    rows = [signals.get(lead_id, LeadSignals()) for lead_id in lead_ids]
    return pd.DataFrame({column: pd.Series([getattr(r, field) for r in rows],
                                           dtype="float64" if field in _NUMERIC_SIGNALS else None)
                         for field, column in SIGNAL_COLUMNS.items()})


def training_frame(scored: Iterable[ScoredRecord], labels: dict[str, bool],
                   signals: dict[str, LeadSignals] | None = None) -> tuple[pd.DataFrame, ExportReport]:
    """The training rows and the counts of what was left out (``output`` is left empty)."""
    first: dict[str, ScoredRecord] = {}
    without_features: set[str] = set()
    for record in sorted(scored, key=lambda r: r.predicted_at):
        if record.features is None:
            without_features.add(record.lead_id)
        else:
            first.setdefault(record.lead_id, record)
    without_features -= set(first)
    kept = [r for r in first.values() if r.lead_id in labels]
    features = _uniform_columns(pd.json_normalize([r.features for r in kept])) if kept else pd.DataFrame()
    reserved = (ID_COLUMN, TIME_COLUMN, TARGET_COLUMN, *SIGNAL_COLUMNS.values())
    features = features.drop(columns=[c for c in reserved if c in features])
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    ID_COLUMN: pd.Series([r.lead_id for r in kept], dtype="string"),
                    TIME_COLUMN: pd.to_datetime([r.predicted_at for r in kept], utc=True),
                }
            ),
            features,
            pd.DataFrame({TARGET_COLUMN: pd.Series([int(labels[r.lead_id]) for r in kept], dtype="int8")}),
            _feedback_columns([r.lead_id for r in kept], signals or {}),
        ],
        axis=1,
    )
    report = ExportReport(
        output="",
        rows=len(frame),
        converted=int(frame[TARGET_COLUMN].sum()),
        without_outcome=len(first) - len(kept),
        without_features=len(without_features),
    )
    return frame, report


def _private(privacy: Privacy | None, namespace: str, model: str,
             features: dict[str, Any] | None) -> dict[str, Any] | None:
    return features if privacy is None or features is None else privacy.apply(namespace, model, features)


def vertical_of(artifact_root: str, namespace: str, model: str, version: str) -> str | None:
    """The vertical a version was trained for, from its model card; None when the card is gone
    (retention deleted the version) or records none (``rules``, a card older than the field)."""
    uri = artifacts.join(artifact_uri(artifact_root, namespace, model, version), CARD_FILE)
    try:
        return ServingCard.model_validate_json(artifacts.read_bytes(uri)).vertical
    except StorageError:
        return None


def export_training_set(store: EventStore, since: datetime, output: str, namespace: str,
                        model: str | None = None, privacy: Privacy | None = None,
                        vertical: str | None = None, artifact_root: str | None = None) -> ExportReport:
    """Write the training set of ``namespace`` (``model``; the versions trained for ``vertical``,
    whose cards are under ``artifact_root``) for predictions made since ``since`` to a path or
    ``s3://`` URI, with ``privacy``'s rules applied again (rows stored before a rule existed lose
    the field here too)."""
    scope = events.in_scope(namespace, model)
    other: list[str] = []
    if vertical is not None:
        if not artifact_root:
            raise ConfigError("--artifact-root: required with --vertical (where the model cards are)")
        with store.transaction() as session:
            versions = events.versions_since(session, since, scope)
        kept = []
        for service, version in versions:
            if vertical_of(artifact_root, namespace, service, version) == vertical:
                kept.append((service, version))
            else:
                other.append(f"{service}/{version}")
        scope = [*scope, events.of_versions(kept)]
    with store.transaction() as session:
        scored = [ScoredRecord(row.lead_id, _private(privacy, namespace, row.inference_service, row.features),
                               row.predicted_at)
                  for row in events.scored_since(session, since, scope)]
        labels: dict[str, bool] = {}
        for outcome in events.outcomes_since(session, since, scope):
            labels[outcome.lead_id] = labels.get(outcome.lead_id, False) or outcome.converted
        signals = lead_signals(events.feedback_since(session, since, scope))
    frame, report = training_frame(scored, labels, signals)
    if report.rows == 0:
        raise DatasetError(
            f"--since {since.isoformat()}, --namespace {namespace}"
            + (f", --model {model}" if model else "")
            + (f", --vertical {vertical} (other or unknown vertical: {', '.join(other) or 'none'})" if vertical else "")
            + ": no scored lead with features and an outcome to export "
            f"({len(scored)} predictions, {report.without_outcome} leads without outcome, "
            f"{report.without_features} without logged features)"
        )
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    artifacts.write_bytes(output, buffer.getvalue())
    return ExportReport(output, report.rows, report.converted, report.without_outcome, report.without_features,
                        tuple(other))

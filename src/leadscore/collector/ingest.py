"""Recording logged inferences and outcomes, each request in one transaction.

Bodies are parsed completely before the store is touched, so a bad payload leaves nothing
behind; the store's natural keys make every re-delivery a no-op.

The two halves of an inference meet on their ``ce-id``. The response creates the
prediction rows (one per scored lead, idempotent on ``(service, ce-id, index)``); the request's
instances become their ``features``, whichever half came first. A request's instances wait
on the event row only until its response arrives, so features are stored once. Instances
are matched to scored leads by position, and only when both halves hold the same number of
leads; a logger in ``response`` mode yields predictions without features (they count in
experiments but cannot be exported for training).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from leadscore.collector.cloudevents import EventContext, assign_experiment
from leadscore.collector.outcomes import OutcomeIn, outcome_rows
from leadscore.collector.payloads import ScoredLead, request_instances, scored_leads
from leadscore.collector.privacy import Privacy
from leadscore.store import events
from leadscore.store.events import EventKey, EventStore


@dataclass(frozen=True)
class EventResult:
    """What one event changed: predictions created and predictions given their features."""

    event_id: str
    kind: str
    predictions_stored: int
    features_attached: int
    duplicate: bool


@dataclass(frozen=True)
class OutcomeResult:
    received: int
    stored: int

    @property
    def duplicates(self) -> int:
        return self.received - self.stored


def prediction_rows(
    context: EventContext,
    leads: list[ScoredLead],
    instances: list[dict[str, Any]] | None,
    predicted_at: datetime,
) -> list[dict[str, Any]]:
    """One store row per scored lead; features only when the request matches one-to-one."""
    matched = instances if instances is not None and len(instances) == len(leads) else None
    rows = []
    for idx, lead in enumerate(leads):
        experiment, arm = assign_experiment(context, lead.arm)
        rows.append(
            {
                "event_id": context.id,
                "idx": idx,
                "lead_id": lead.lead_id,
                "features": matched[idx] if matched else None,
                "probability": lead.probability,
                "score": lead.score,
                "tier": lead.tier,
                "action": lead.action,
                "model_version": lead.model_version,
                "arm": arm,
                "experiment": experiment,
                "namespace": context.namespace,
                "inference_service": context.inferenceservicename,
                "predicted_at": predicted_at,
            }
        )
    return rows


def record_event(
    store: EventStore, context: EventContext, body: bytes, received_at: datetime | None = None,
    privacy: Privacy | None = None,
) -> EventResult:
    """Store one logged half; the body is validated before anything is written, and the lead
    records lose the fields ``privacy`` drops or hashes for this model before they are stored."""
    received_at = received_at or datetime.now(UTC)
    if context.is_request:
        instances = request_instances(body)
        if privacy is not None:
            instances = [privacy.apply(context.namespace, context.inferenceservicename, i) for i in instances]
        with store.transaction() as session:
            return _record_request(session, context, instances, received_at)
    leads = scored_leads(body)
    with store.transaction() as session:
        return _record_response(session, context, leads, received_at)


def _key(context: EventContext) -> EventKey:
    return EventKey(context.namespace, context.inferenceservicename, context.id)


def _record_request(
    session: Session, context: EventContext, instances: list[dict[str, Any]], received_at: datetime
) -> EventResult:
    row = events.claim_event(session, _key(context))
    if row.request_received_at is not None:
        return EventResult(context.id, "request", 0, 0, duplicate=True)
    row.request_received_at = received_at
    if row.response_received_at is None:
        row.request_instances = instances  # held until the response pairs with it
        return EventResult(context.id, "request", 0, 0, duplicate=False)
    attached = 0
    if events.prediction_count(session, _key(context)) == len(instances):
        attached = events.fill_features(session, _key(context), instances)
    return EventResult(context.id, "request", 0, attached, duplicate=False)


def _record_response(
    session: Session, context: EventContext, leads: list[ScoredLead], received_at: datetime
) -> EventResult:
    row = events.claim_event(session, _key(context))
    duplicate = row.response_received_at is not None
    if not duplicate:
        row.response_received_at = received_at
    rows = prediction_rows(context, leads, row.request_instances, context.time or received_at)
    stored = events.insert_new(session, events.Prediction, rows)
    row.request_instances = None  # paired: the features now live on the predictions, stored once
    return EventResult(context.id, "response", stored, 0, duplicate=duplicate and stored == 0)


def record_outcomes(store: EventStore, namespace: str, outcomes: list[OutcomeIn],
                    received_at: datetime | None = None) -> OutcomeResult:
    """Store a validated batch of ``namespace`` in one transaction; keys already present there are skipped."""
    rows = outcome_rows(namespace, outcomes, received_at or datetime.now(UTC))
    with store.transaction() as session:
        stored = events.insert_new(session, events.Outcome, rows)
    return OutcomeResult(received=len(outcomes), stored=stored)

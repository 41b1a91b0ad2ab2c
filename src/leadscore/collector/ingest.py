"""Recording logged inferences and outcomes, each request in one transaction.

Bodies are parsed completely before the store is touched, so a bad payload leaves nothing
behind; the store's natural keys make every re-delivery a no-op.

The two halves of an inference meet on their ``ce-id``. The response creates the
prediction rows (one per scored lead, idempotent on ``(service, ce-id, index)``); the request's
instances become their ``features``, whichever half came first. A request's instances wait
on the event row only until its response arrives, so features are stored once. Instances
are paired with scored leads by lead id, never by position alone: the instance at the
lead's position is used when it carries the lead's id (its ``lead_id`` field, or, for a
dataset whose id field has another name, any field holding that id), else the one instance
that does. A scored lead with no such instance keeps no features and is counted
(``features_mismatched`` in the answer, ``leadscore_collector_features_mismatched``): two
halves under one ``ce-id`` that name different leads never marry one lead's features to
another's prediction. A logger in ``response`` mode yields predictions without features
(they count in experiments but cannot be exported for training).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from leadscore.collector.cloudevents import EventContext, assign_experiment
from leadscore.collector.feedback import FeedbackIn, SessionIn, feedback_rows, session_rows
from leadscore.collector.outcomes import DERIVED_KEY_PREFIX, OutcomeIn, check_agreement, outcome_rows
from leadscore.collector.payloads import ScoredLead, request_instances, scored_leads
from leadscore.collector.privacy import Privacy
from leadscore.experiments.settings import parse_duration
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
    features_mismatched: int = 0


@dataclass(frozen=True)
class OutcomeResult:
    received: int
    stored: int

    @property
    def duplicates(self) -> int:
        return self.received - self.stored

    def receipt(self) -> dict[str, int]:
        """The response to the CRM that posted the batch."""
        return {"received": self.received, "stored": self.stored, "duplicates": self.duplicates}


ID_FIELD = "lead_id"


def _carries(instance: dict[str, Any], lead_id: str) -> bool:
    """Whether a request instance is the lead ``lead_id`` (see the module docstring)."""
    if ID_FIELD in instance:
        return str(instance[ID_FIELD]) == lead_id
    return any(isinstance(v, str | int) and not isinstance(v, bool) and str(v) == lead_id for v in instance.values())


def paired_features(lead_ids: list[str], instances: list[dict[str, Any]] | None) -> list[dict[str, Any] | None]:
    """Each scored lead's request instance, paired by lead id; None where no instance is that lead."""
    if instances is None:
        return [None] * len(lead_ids)
    paired: list[dict[str, Any] | None] = []
    for position, lead_id in enumerate(lead_ids):
        at = instances[position] if position < len(instances) else None
        if at is not None and _carries(at, lead_id):
            paired.append(at)
            continue
        found = [instance for instance in instances if _carries(instance, lead_id)]
        paired.append(found[0] if len(found) == 1 else None)
    return paired


def prediction_rows(
    context: EventContext,
    leads: list[ScoredLead],
    instances: list[dict[str, Any]] | None,
    predicted_at: datetime,
) -> list[dict[str, Any]]:
    """One store row per scored lead, with its own request instance as features when there is one."""
    features = paired_features([lead.lead_id for lead in leads], instances)
    rows = []
    for idx, (lead, matched) in enumerate(zip(leads, features, strict=True)):
        experiment, arm = assign_experiment(context, lead.arm)
        rows.append(
            {
                "event_id": context.id,
                "idx": idx,
                "lead_id": lead.lead_id,
                "features": matched,
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
                "covariate": lead.control_probability,
                "sla_seconds": None if lead.sla is None else parse_duration(lead.sla).total_seconds(),
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
    waiting = events.predictions_without_features(session, _key(context))
    features = paired_features([lead_id for _, lead_id in waiting], instances)
    attached = events.fill_features(
        session, _key(context), {idx: f for (idx, _), f in zip(waiting, features, strict=True) if f is not None}
    )
    return EventResult(context.id, "request", 0, attached, duplicate=False, features_mismatched=len(waiting) - attached)


def _record_response(
    session: Session, context: EventContext, leads: list[ScoredLead], received_at: datetime
) -> EventResult:
    row = events.claim_event(session, _key(context))
    duplicate = row.response_received_at is not None
    if not duplicate:
        row.response_received_at = received_at
    instances = row.request_instances
    rows = prediction_rows(context, leads, instances, context.time or received_at)
    stored = events.insert_new(session, events.Prediction, rows)
    row.request_instances = None  # paired: the features now live on the predictions, stored once
    mismatched = 0 if instances is None else sum(r["features"] is None for r in rows)
    return EventResult(context.id, "response", stored, 0, duplicate=duplicate and stored == 0,
                       features_mismatched=mismatched)


def record_outcomes(store: EventStore, namespace: str, outcomes: list[OutcomeIn],
                    received_at: datetime | None = None) -> OutcomeResult:
    """Store a validated batch of ``namespace`` in one transaction; keys already present there are skipped."""
    rows = outcome_rows(namespace, outcomes, received_at or datetime.now(UTC))
    keyless = [o.lead_id for o in outcomes if not o.idempotency_key]
    with store.transaction() as session:
        check_agreement(outcomes, events.outcome_keys(session, namespace, keyless, DERIVED_KEY_PREFIX))
        stored = events.insert_new(session, events.Outcome, rows)
    return OutcomeResult(received=len(outcomes), stored=stored)


def record_feedback(store: EventStore, namespace: str, reports: list[FeedbackIn],
                    received_at: datetime | None = None) -> OutcomeResult:
    """Store a validated batch of explicit feedback of ``namespace`` in one transaction; keys
    already present there are skipped."""
    rows = feedback_rows(namespace, reports, received_at or datetime.now(UTC))
    with store.transaction() as session:
        stored = events.insert_new(session, events.Feedback, rows)
    return OutcomeResult(received=len(reports), stored=stored)


def record_session(store: EventStore, namespace: str, session_in: SessionIn,
                   received_at: datetime | None = None) -> OutcomeResult:
    """Store a session's interactions in one transaction (one row each; re-posts are skipped)."""
    rows = session_rows(namespace, session_in, received_at or datetime.now(UTC))
    with store.transaction() as session:
        stored = events.insert_new(session, events.Feedback, rows)
    return OutcomeResult(received=len(rows), stored=stored)

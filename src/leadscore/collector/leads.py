"""One lead's story, for the sales rep who asks "why this score, and what happened since":
its predictions (newest first: version, arm, score, tier, action), its reported outcomes and
its feedback (seed 001's lead feedback history)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from leadscore.store import events
from leadscore.store.events import EventStore


class LeadScore(BaseModel):
    predicted_at: datetime
    namespace: str
    inference_service: str
    model_version: str
    probability: float
    score: float | None = None
    tier: str | None = None
    action: str | None = None
    arm: str | None = None
    experiment: str | None = None


class LeadOutcome(BaseModel):
    converted: bool
    value: float | None = None
    occurred_at: datetime
    first_contacted_at: datetime | None = None
    accepted: bool | None = None


class LeadFeedback(BaseModel):
    source: str = Field(description="explicit or implicit.")
    action_type: str
    user_rating: float | None = None
    interaction_duration: float | None = None
    contact_successful: bool | None = None
    occurred_at: datetime


class LeadHistory(BaseModel):
    namespace: str
    model: str | None = Field(None, description="The model asked about; absent: every model of the namespace.")
    lead_id: str
    predictions: list[LeadScore] = Field(description="Newest first, at most `limit`.")
    outcomes: list[LeadOutcome] = Field(description="Oldest first, all of them.")
    feedback: list[LeadFeedback] = Field(default_factory=list, description="Oldest first, all of it.")


def lead_history(store: EventStore, namespace: str, lead_id: str, limit: int,
                 model: str | None = None) -> LeadHistory | None:
    """The lead's predictions and outcomes in ``namespace`` (by ``model``, when given); None
    when the collector has neither there. Other namespaces' leads of the same id never show."""
    with store.transaction() as session:
        scores = events.lead_scores(session, events.in_scope(namespace, model), lead_id, limit)
        outcomes = events.lead_outcomes(session, namespace, lead_id, model)
        feedback = events.lead_feedback(session, namespace, lead_id, model)
    if not scores and not outcomes and not feedback:
        return None
    return LeadHistory(
        namespace=namespace,
        model=model,
        lead_id=lead_id,
        predictions=[LeadScore(**row._asdict()) for row in scores],
        outcomes=[LeadOutcome(**o._asdict()) for o in outcomes],
        feedback=[LeadFeedback(**{k: v for k, v in f._asdict().items() if k != "lead_id"}) for f in feedback],
    )

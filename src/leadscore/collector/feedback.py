"""Feedback a CRM posts about leads (seed 001): explicit reports and a session's implicit interactions.

Rules (docs/collector.md repeats them):

* explicit feedback is one action (``leadscore.api.feedback.ActionType``) with optional
  ``user_rating`` (0-100), ``interaction_duration`` (seconds), ``contact_successful`` (a
  ``contact`` only), ``conversion_value`` (a ``convert`` only) and ``session_id``;
* an implicit session is a ``session_id``, an ``occurred_at`` and a list of ``{lead_id, type,
  duration}`` interactions; each becomes one stored row of source ``implicit``;
* like outcomes, feedback belongs to the path's namespace and optionally to one ``model``
  (omitted: it counts for every model of the namespace), and is stored idempotently: an
  explicit report's key is its ``idempotency_key`` or a digest of its content; the n-th
  interaction of a session has the session's key (given or derived) followed by ``#n``, so
  re-posting a session stores nothing new.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationInfo, field_validator

from leadscore.api.feedback import ACTION_TYPES, ActionType, LeadSignals
from leadscore.collector.errors import invalid
from leadscore.collector.outcomes import DERIVED_KEY_PREFIX, MAX_BATCH, parse_batch
from leadscore.collector.times import plausible_utc
from leadscore.errors import InvalidInputError
from leadscore.monitoring.accuracy import wilson
from leadscore.store import events
from leadscore.store.events import EventStore, FeedbackRow

FEEDBACK_PATH = "/v1/namespaces/{namespace}/feedback"
"""Where a CRM posts explicit feedback."""
IMPLICIT_PATH = "/v1/namespaces/{namespace}/feedback/implicit"
"""Where a CRM posts a session's implicit interactions."""
ANALYTICS_PATH = "/v1/namespaces/{namespace}/feedback/analytics"
"""Where feedback analytics are read."""
MAX_DURATION = 7 * 86400.0
"""Longest interaction accepted, in seconds: a week (anything longer is a clock or unit error)."""
_KEY = 240  # a session's key is followed by "#<index>" within the 255 characters a key may have


class _Timed(BaseModel):
    """Times are read as UTC and must be plausible (``leadscore.collector.times``)."""

    @field_validator("occurred_at", check_fields=False)
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else plausible_utc(value)


class FeedbackIn(_Timed):
    """One explicit report: what a user did with one lead."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, str_strip_whitespace=True)

    lead_id: str = Field(min_length=1, max_length=255, description="The lead id the predictor returned.")
    model: str | None = Field(None, min_length=1, max_length=253,
                              description="The LeadScoringModel the lead was scored by; omitted: every model.")
    action_type: ActionType = Field(description="view, contact, convert, archive or rate.")
    user_rating: float | None = Field(None, ge=0, le=100, allow_inf_nan=False, description="A rating, 0-100.")
    interaction_duration: float | None = Field(None, ge=0, le=MAX_DURATION, allow_inf_nan=False,
                                               description="Seconds the user spent on the lead.")
    contact_successful: Annotated[bool, Strict()] | None = Field(
        None, description="Whether the contact reached the lead (action_type contact only).")
    conversion_value: float | None = Field(None, ge=0, allow_inf_nan=False,
                                           description="The conversion's value (action_type convert only).")
    session_id: str | None = Field(None, min_length=1, max_length=255, description="The user's session.")
    occurred_at: datetime = Field(description="When it happened; a time without a zone is read as UTC.")
    idempotency_key: str | None = Field(None, min_length=1, max_length=255,
                                        description="Re-sending the same key changes nothing.")

    @field_validator("contact_successful", "conversion_value")
    @classmethod
    def _fits_action(cls, value: Any, info: ValidationInfo) -> Any:
        needs = {"contact_successful": "contact", "conversion_value": "convert"}[str(info.field_name)]
        action = info.data.get("action_type")
        if value is not None and action is not None and action != needs:
            raise ValueError(f"only for action_type {needs!r}, not {action!r}")
        return value

    def key(self) -> str:
        """The given key, else a digest of the content (so identical re-posts collide)."""
        if self.idempotency_key:
            return self.idempotency_key
        content = self.model_dump(mode="json", exclude={"idempotency_key"})
        return DERIVED_KEY_PREFIX + hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


class InteractionIn(_Timed):
    """One implicit interaction of a session."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, str_strip_whitespace=True)

    lead_id: str = Field(min_length=1, max_length=255)
    type: ActionType = Field(description="view, contact, convert, archive or rate.")
    duration: float | None = Field(None, ge=0, le=MAX_DURATION, allow_inf_nan=False, description="Seconds.")
    occurred_at: datetime | None = Field(None, description="When; omitted: the session's occurred_at.")


class SessionIn(_Timed):
    """A session's implicit interactions (seed 001's ``feedback/implicit``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    session_id: str = Field(min_length=1, max_length=255)
    model: str | None = Field(None, min_length=1, max_length=253)
    occurred_at: datetime = Field(description="When the session happened (each interaction may say its own).")
    interactions: list[InteractionIn] = Field(min_length=1, max_length=MAX_BATCH)
    idempotency_key: str | None = Field(None, min_length=1, max_length=_KEY,
                                        description="Re-sending the same key changes nothing.")

    def key(self) -> str:
        if self.idempotency_key:
            return self.idempotency_key
        content = self.model_dump(mode="json", exclude={"idempotency_key"})
        return DERIVED_KEY_PREFIX + hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def parse_feedback(document: Any) -> list[FeedbackIn]:
    """One report, a list, or ``{"feedback": [...]}``; errors name ``feedback[i].field``."""
    return parse_batch(document, "feedback", FeedbackIn, "a feedback report", "reports")


def parse_session(document: Any) -> SessionIn:
    """A session object; errors name the field (``interactions[2].duration``)."""
    if not isinstance(document, dict):
        raise InvalidInputError(f"body: expected a session object, got {type(document).__name__}")
    try:
        return SessionIn.model_validate(document)
    except pydantic.ValidationError as exc:
        raise invalid(exc) from exc


def feedback_rows(namespace: str, reports: list[FeedbackIn], received_at: datetime) -> list[dict[str, Any]]:
    """Store rows of ``namespace``, one per distinct key."""
    rows: dict[str, dict[str, Any]] = {}
    for report in reports:
        rows.setdefault(report.key(), {
            "idempotency_key": report.key(), "namespace": namespace, "model": report.model,
            "lead_id": report.lead_id, "source": "explicit", "action_type": report.action_type,
            "user_rating": report.user_rating, "interaction_duration": report.interaction_duration,
            "contact_successful": report.contact_successful, "conversion_value": report.conversion_value,
            "session_id": report.session_id, "occurred_at": report.occurred_at, "received_at": received_at,
        })
    return list(rows.values())


def session_rows(namespace: str, session: SessionIn, received_at: datetime) -> list[dict[str, Any]]:
    """One store row per interaction, keyed ``<session key>#<index>``."""
    key = session.key()
    return [{
        "idempotency_key": f"{key}#{index}", "namespace": namespace, "model": session.model,
        "lead_id": interaction.lead_id, "source": "implicit", "action_type": interaction.type,
        "user_rating": None, "interaction_duration": interaction.duration, "contact_successful": None,
        "conversion_value": None, "session_id": session.session_id,
        "occurred_at": interaction.occurred_at or session.occurred_at, "received_at": received_at,
    } for index, interaction in enumerate(session.interactions)]


def lead_signals(rows: Iterable[FeedbackRow]) -> dict[str, LeadSignals]:
    """Each lead's feedback (rows oldest first) reduced to the facts ``target_score`` reads."""
    facts: dict[str, dict[str, Any]] = {}
    for row in rows:
        lead = facts.setdefault(row.lead_id, {"events": 0})
        lead["events"] += 1
        if row.action_type == "convert":
            lead["converted"] = True
        if row.user_rating is not None:
            lead["rating"] = row.user_rating  # oldest first: the latest wins
        if row.action_type == "contact":
            lead["contacted"] = True
            if row.contact_successful:
                lead["contact_successful"] = True
        if row.interaction_duration is not None and row.action_type == "view":
            lead["longest_view_seconds"] = max(lead.get("longest_view_seconds", 0.0), row.interaction_duration)
        if row.interaction_duration is not None and row.action_type == "archive":
            lead["quickest_archive_seconds"] = min(lead.get("quickest_archive_seconds", float("inf")),
                                                   row.interaction_duration)
    return {lead_id: LeadSignals(**values) for lead_id, values in facts.items()}


# --- analytics --------------------------------------------------------------------------------

CONFIDENCE_DEFINITION = (
    "share of the leads with feedback in the window whose feedback includes at least one explicit "
    "report (not only implicit interactions), with its Wilson 95 % interval")


class DailyFeedback(BaseModel):
    day: date = Field(description="UTC day the feedback occurred.")
    total: int
    actions: dict[str, int] = Field(description="Count per action type (every type, zeros included).")


class FeedbackConfidence(BaseModel):
    """How much of the feedback is deliberate: see ``definition``."""

    value: float | None = Field(description="explicit_leads / leads; None without feedback.")
    lower: float
    upper: float
    leads: int = Field(description="Distinct leads with feedback in the window.")
    explicit_leads: int = Field(description="Those with at least one explicit report.")
    definition: str = CONFIDENCE_DEFINITION


class FeedbackAnalytics(BaseModel):
    """Feedback of one namespace (one model's, when asked) that occurred in [since, until)."""

    namespace: str
    model: str | None = None
    since: datetime
    until: datetime
    total: int
    explicit: int
    implicit: int
    actions: dict[str, int] = Field(description="Count per action type (every type, zeros included).")
    daily: list[DailyFeedback] = Field(description="Days with feedback, oldest first.")
    contacts_reported: int = Field(description="Contacts whose contact_successful was given.")
    contact_success_rate: float | None = Field(description="Successful / contacts_reported; None without one.")
    average_rating: float | None = Field(description="Mean user_rating of the reports that gave one.")
    confidence: FeedbackConfidence


def _actions(counter: Counter[str]) -> dict[str, int]:
    return {action: counter.get(action, 0) for action in ACTION_TYPES}


def feedback_analytics(store: EventStore, namespace: str, model: str | None, since: datetime,
                       until: datetime) -> FeedbackAnalytics:
    """The analytics of ``namespace``'s feedback (``model``'s, when given) in [since, until)."""
    with store.transaction() as session:
        rows = events.feedback_between(session, namespace, since, until, model)
    return summarize_feedback(namespace, model, since, until, rows)


def summarize_feedback(namespace: str, model: str | None, since: datetime, until: datetime,
                       rows: list[FeedbackRow]) -> FeedbackAnalytics:
    """Counts by action and source, per UTC day, contact success, mean rating and the confidence."""
    per_day: dict[date, Counter[str]] = {}
    leads: set[str] = set()
    explicit_leads: set[str] = set()
    contacts = [r.contact_successful for r in rows if r.action_type == "contact" and r.contact_successful is not None]
    ratings = [r.user_rating for r in rows if r.user_rating is not None]
    for row in rows:
        per_day.setdefault(row.occurred_at.date(), Counter())[row.action_type] += 1
        leads.add(row.lead_id)
        if row.source == "explicit":
            explicit_leads.add(row.lead_id)
    lower, upper = wilson(len(explicit_leads), len(leads))
    explicit = sum(r.source == "explicit" for r in rows)
    return FeedbackAnalytics(
        namespace=namespace, model=model, since=since, until=until, total=len(rows), explicit=explicit,
        implicit=len(rows) - explicit, actions=_actions(Counter(r.action_type for r in rows)),
        daily=[DailyFeedback(day=day, total=sum(counts.values()), actions=_actions(counts))
               for day, counts in sorted(per_day.items())],
        contacts_reported=len(contacts),
        contact_success_rate=sum(contacts) / len(contacts) if contacts else None,
        average_rating=sum(ratings) / len(ratings) if ratings else None,
        confidence=FeedbackConfidence(value=len(explicit_leads) / len(leads) if leads else None,
                                      lower=lower, upper=upper, leads=len(leads),
                                      explicit_leads=len(explicit_leads)),
    )

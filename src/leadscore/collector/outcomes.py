"""CRM outcome reports: the request model, batch shapes and idempotency keys.

A CRM posts to ``/v1/namespaces/{namespace}/outcomes``: the namespace (where its models live)
is part of the path, so an outcome never meets another team's leads. An outcome may also
name its ``model`` (the LeadScoringModel) when one namespace serves several models whose
lead ids could collide.

A CRM may send one outcome, a list, or ``{"outcomes": [...]}``. Each outcome without an
``idempotency_key`` gets one derived from its content, so a retried POST of the same
report is recognised even when the CRM has no notion of keys. Unknown fields are refused:
a misspelt ``convertd`` silently dropped would be a lost conversion.

What is valid (docs/security.md, "Limits", lists the same):

* ``converted`` is a JSON boolean; ``"yes"``, ``1`` or ``"true"`` are refused, because a
  CRM that sends them is sending something we would have to guess about;
* ``value`` is a finite number >= 0 (revenue or premium; a refund is not an outcome);
* ``occurred_at`` lies between 2000-01-01 and two days after the collector's clock
  (``leadscore.collector.times``: clock skew and time zones, never the year 2999).
  A lower bound from the lead's first score is not used: outcomes may arrive before the
  logged prediction does, and order must not decide what is accepted;
* ``first_contacted_at`` (optional: when sales first reached the lead) obeys the same bounds
  and, for the same reason, may lie before the lead's score or its ``occurred_at``; the tier
  SLA report (``leadscore.collector.tiers``) counts only a contact at or after the score;
* ``accepted`` (optional: sales accepted the lead) is a JSON boolean like ``converted``;
* an outcome's derived key covers ``first_contacted_at`` and ``accepted`` only when they are
  sent, so the key of an outcome without them is the one it had before they existed;
* two outcomes without keys for the same lead and the same ``occurred_at`` that disagree are
  a conflict (HTTP 409), whether in one batch or against one already stored: which one is
  true cannot be decided here. Identical re-posts stay harmless duplicates.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator

from leadscore.collector.errors import invalid
from leadscore.collector.times import plausible_utc
from leadscore.errors import InvalidInputError

Item = TypeVar("Item", bound=BaseModel)

MAX_BATCH = 10_000
DERIVED_KEY_PREFIX = "sha256:"


class OutcomeConflictError(InvalidInputError):
    """Two keyless outcomes for the same lead and time that disagree (HTTP 409)."""

    reason = "ConflictingOutcomes"
OUTCOMES_PATH = "/v1/namespaces/{namespace}/outcomes"
"""Where a CRM posts outcomes (the collector's route; CRMs and the demo format it)."""
LEAD_PATH = "/v1/namespaces/{namespace}/leads/{lead_id}"
"""Where one lead's history is read."""


class OutcomeIn(BaseModel):
    """What happened to one lead, as reported by the CRM."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, str_strip_whitespace=True)

    lead_id: str = Field(min_length=1, max_length=255, description="The lead id the predictor returned.")
    model: str | None = Field(
        None, min_length=1, max_length=253,
        description="The LeadScoringModel the lead was scored by; omitted, the outcome counts for every "
                    "model of the namespace.")
    converted: Annotated[bool, Strict()] = Field(description="Whether the lead converted (won, bound, signed).")
    value: float | None = Field(None, ge=0, allow_inf_nan=False, description="Revenue or premium, if known.")
    occurred_at: datetime = Field(description="When it happened; a time without a zone is read as UTC.")
    first_contacted_at: datetime | None = Field(
        None, description="When sales first contacted the lead (for the tier SLA report); no zone: UTC.")
    accepted: Annotated[bool, Strict()] | None = Field(
        None, description="Whether sales accepted the lead (for the A/B lead-acceptance rate).")
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=255, description="Re-sending the same key changes nothing."
    )

    @field_validator("occurred_at", "first_contacted_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else plausible_utc(value)

    def key(self) -> str:
        """The given key, else a digest of the content (so identical re-posts collide)."""
        if self.idempotency_key:
            return self.idempotency_key
        optional = {"first_contacted_at": self.first_contacted_at and self.first_contacted_at.isoformat(),
                    "accepted": self.accepted}
        sent = {name: value for name, value in optional.items() if value is not None}
        content = json.dumps(
            [self.lead_id, self.converted, self.value, self.occurred_at.isoformat()]
            + ([self.model] if self.model else []) + ([sent] if sent else []), separators=(",", ":"))
        return DERIVED_KEY_PREFIX + hashlib.sha256(content.encode()).hexdigest()


@functools.cache
def _list_of(item: type[BaseModel]) -> pydantic.TypeAdapter[list[Any]]:
    return pydantic.TypeAdapter(list[item])  # type: ignore[valid-type]  # a model class given at run time


def parse_batch(document: Any, key: str, item: type[Item], one: str, many: str) -> list[Item]:
    """One item, a list, or ``{key: [...]}`` (how CRMs post outcomes and feedback); errors name
    ``<key>[i].field``. ``one`` and ``many`` name an item in messages ("an outcome", "outcomes")."""
    if isinstance(document, dict) and key in document:
        extra = sorted(set(document) - {key})
        if extra:
            raise InvalidInputError(f"body: unexpected field(s) {extra} beside {key!r}")
        document = document[key]
        if not isinstance(document, list):
            raise InvalidInputError(f"{key}: expected a list, got {type(document).__name__}")
    if isinstance(document, dict):
        try:
            return [item.model_validate(document)]
        except pydantic.ValidationError as exc:
            raise invalid(exc) from exc
    if not isinstance(document, list):
        raise InvalidInputError(
            f"body: expected {one}, a list or {{'{key}': [...]}}, got {type(document).__name__}"
        )
    if not document:
        raise InvalidInputError(f"{key}: empty batch")
    if len(document) > MAX_BATCH:
        raise InvalidInputError(f"{key}: {len(document)} {many} is more than the {MAX_BATCH} accepted per request")
    try:
        return _list_of(item).validate_python(document)
    except pydantic.ValidationError as exc:
        raise invalid(exc, prefix=key) from exc


def parse_outcomes(document: Any) -> list[OutcomeIn]:
    """One outcome, a list, or ``{"outcomes": [...]}``; errors name ``outcomes[i].field``."""
    return parse_batch(document, "outcomes", OutcomeIn, "an outcome", "outcomes")


def check_agreement(outcomes: list[OutcomeIn], stored: dict[tuple[str, datetime], str] | None = None) -> None:
    """Refuse keyless outcomes that contradict each other or ``stored`` ((lead, time) -> key).

    Without a key an outcome's identity is its content, so two different contents for the same
    lead at the same moment would both be stored and both counted.
    """
    seen = dict(stored or {})
    for index, outcome in enumerate(outcomes):
        if outcome.idempotency_key:
            continue
        slot = (outcome.lead_id, outcome.occurred_at)
        other = seen.setdefault(slot, outcome.key())
        if other != outcome.key():
            raise OutcomeConflictError(
                f"outcomes[{index}]: lead {outcome.lead_id!r} already has a different outcome at "
                f"{outcome.occurred_at.isoformat()}; send an idempotency_key to report a correction"
            )


def outcome_rows(namespace: str, outcomes: list[OutcomeIn], received_at: datetime) -> list[dict[str, Any]]:
    """Rows of ``namespace`` for the store, one per distinct key (a batch repeating a key stores it once)."""
    rows: dict[str, dict[str, Any]] = {}
    for outcome in outcomes:
        rows.setdefault(
            outcome.key(),
            {
                "idempotency_key": outcome.key(),
                "namespace": namespace,
                "model": outcome.model,
                "lead_id": outcome.lead_id,
                "converted": outcome.converted,
                "value": outcome.value,
                "occurred_at": outcome.occurred_at,
                "first_contacted_at": outcome.first_contacted_at,
                "accepted": outcome.accepted,
                "received_at": received_at,
            },
        )
    return list(rows.values())

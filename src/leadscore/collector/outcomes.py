"""CRM outcome reports: the request model, batch shapes and idempotency keys.

A CRM posts to ``/v1/namespaces/{namespace}/outcomes``: the namespace (where its models live)
is part of the path, so an outcome never meets another team's leads. An outcome may also
name its ``model`` (the LeadScoringModel) when one namespace serves several models whose
lead ids could collide.

A CRM may send one outcome, a list, or ``{"outcomes": [...]}``. Each outcome without an
``idempotency_key`` gets one derived from its content, so a retried POST of the same
report is recognised even when the CRM has no notion of keys. Unknown fields are refused:
a misspelt ``convertd`` silently dropped would be a lost conversion.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadscore.collector.errors import invalid
from leadscore.errors import ValidationError

MAX_BATCH = 10_000
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
    converted: bool = Field(description="Whether the lead converted (won, bound, signed).")
    value: float | None = Field(None, allow_inf_nan=False, description="Revenue or premium, if known.")
    occurred_at: datetime = Field(description="When it happened; a time without a zone is read as UTC.")
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=255, description="Re-sending the same key changes nothing."
    )

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def key(self) -> str:
        """The given key, else a digest of the content (so identical re-posts collide)."""
        if self.idempotency_key:
            return self.idempotency_key
        content = json.dumps(
            [self.lead_id, self.converted, self.value, self.occurred_at.isoformat()]
            + ([self.model] if self.model else []), separators=(",", ":"))
        return "sha256:" + hashlib.sha256(content.encode()).hexdigest()


_BATCH = pydantic.TypeAdapter(list[OutcomeIn])


def parse_outcomes(document: Any) -> list[OutcomeIn]:
    """One outcome, a list, or ``{"outcomes": [...]}``; errors name ``outcomes[i].field``."""
    if isinstance(document, dict) and "outcomes" in document:
        extra = sorted(set(document) - {"outcomes"})
        if extra:
            raise ValidationError(f"body: unexpected field(s) {extra} beside 'outcomes'")
        document = document["outcomes"]
        if not isinstance(document, list):
            raise ValidationError(f"outcomes: expected a list, got {type(document).__name__}")
    if isinstance(document, dict):
        try:
            return [OutcomeIn.model_validate(document)]
        except pydantic.ValidationError as exc:
            raise invalid(exc) from exc
    if not isinstance(document, list):
        raise ValidationError(
            f"body: expected an outcome, a list or {{'outcomes': [...]}}, got {type(document).__name__}"
        )
    if not document:
        raise ValidationError("outcomes: empty batch")
    if len(document) > MAX_BATCH:
        raise ValidationError(f"outcomes: {len(document)} outcomes is more than the {MAX_BATCH} accepted per request")
    try:
        return _BATCH.validate_python(document)
    except pydantic.ValidationError as exc:
        raise invalid(exc, prefix="outcomes") from exc


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
                "received_at": received_at,
            },
        )
    return list(rows.values())

"""How a model's tiers fill, convert and get contacted: the console's tier chart reads this.

SLA rules (pure, in ``contact_by_tier``; docs/collector.md repeats them):

* a lead counts in a tier from its **first** prediction in that tier within the window, with the
  deadline (``sla``) that prediction's response gave;
* its first contact is the earliest ``first_contacted_at`` of its outcomes at or after that
  score (a contact before the score is not the tier's doing, like a conversion before it);
* it **met** the SLA when that contact came within the deadline; it is **due** when it met it or
  its deadline has passed by now (a lead still inside its deadline is neither met nor missed);
* the median time to first contact runs over the contacted leads, whatever their deadline.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from leadscore.api.summary import TierCount, TierSummary
from leadscore.store import events
from leadscore.store.events import DeadlineRow, EventStore, OutcomeRow


def contact_by_tier(scored: Iterable[DeadlineRow], outcomes: Iterable[OutcomeRow],
                    now: datetime) -> dict[str, dict[str, Any]]:
    """Per tier ('' for none): the contact fields of ``TierCount`` by the rules above."""
    contacts: dict[str, list[datetime]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.first_contacted_at is not None:
            contacts[outcome.lead_id].append(outcome.first_contacted_at)
    first: dict[tuple[str, str], DeadlineRow] = {}
    latest_sla: dict[str, float | None] = {}
    for row in sorted(scored, key=lambda r: r.predicted_at):
        first.setdefault((row.tier or "", row.lead_id), row)
        latest_sla[row.tier or ""] = row.sla_seconds
    fields: dict[str, dict[str, Any]] = {tier: {"sla_seconds": sla, "contacted": 0, "sla_due": 0, "sla_met": 0}
                               for tier, sla in latest_sla.items()}
    hours: dict[str, list[float]] = defaultdict(list)
    for (tier, lead_id), row in first.items():
        later = [at for at in contacts.get(lead_id, ()) if at >= row.predicted_at]
        delay = min(later) - row.predicted_at if later else None
        if delay is not None:
            fields[tier]["contacted"] += 1
            hours[tier].append(delay.total_seconds() / 3600)
        if row.sla_seconds is not None:
            deadline = timedelta(seconds=row.sla_seconds)
            met = delay is not None and delay <= deadline
            fields[tier]["sla_met"] += met
            fields[tier]["sla_due"] += met or row.predicted_at + deadline <= now
    for tier, values in hours.items():
        fields[tier]["median_hours_to_first_contact"] = statistics.median(values)
    return fields


def tier_summary(store: EventStore, namespace: str, service: str, since: datetime, now: datetime) -> TierSummary:
    """Per tier: distinct leads the service scored since ``since``, how many converted after, and
    how fast sales contacted them against the tier's SLA."""
    scope = events.in_scope(namespace, service)
    with store.transaction() as session:
        rows = events.tier_counts(session, namespace, service, since)
        scored = events.deadlines(session, [*scope, events.Prediction.predicted_at >= since])
        outcomes = events.outcomes_since(session, since, scope)
    contact = contact_by_tier(scored, outcomes, now)
    tiers = [TierCount(tier=tier, leads=leads, conversions=conversions, **contact.get(tier, {}))
             for tier, leads, conversions in rows]
    tiers.sort(key=lambda t: (-t.leads, t.tier))
    return TierSummary(namespace=namespace, service=service, since=since, tiers=tiers)

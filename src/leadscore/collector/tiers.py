"""How a model's tiers fill and convert: the console's tier chart reads this."""

from __future__ import annotations

from datetime import datetime

from leadscore.api.summary import TierCount, TierSummary
from leadscore.store import events
from leadscore.store.events import EventStore


def tier_summary(store: EventStore, namespace: str, service: str, since: datetime) -> TierSummary:
    """Per tier: distinct leads the service scored since ``since`` and how many converted after."""
    with store.transaction() as session:
        rows = events.tier_counts(session, namespace, service, since)
    tiers = [TierCount(tier=tier, leads=leads, conversions=conversions) for tier, leads, conversions in rows]
    tiers.sort(key=lambda t: (-t.leads, t.tier))
    return TierSummary(namespace=namespace, service=service, since=since, tiers=tiers)

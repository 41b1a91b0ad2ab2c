"""Live accuracy and KPIs of one version: its matured leads joined with their outcomes.

Rules (docs/monitoring.md repeats them):

* a lead counts once, with its **first** prediction by the version in the window (the score
  the sales team acted on);
* only **matured** leads count: the window ends at least ``maturity`` before now, so every
  lead has had the whole delay to convert; a younger lead would count as "not converted"
  only because its outcome has not been reported yet;
* a lead **converted** when a converted outcome occurred at or after its first score and
  within ``maturity`` of it; its value is the sum of those outcomes' values; its time to
  conversion runs to the first of them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from leadscore.api.health import LivePerformance
from leadscore.monitoring import accuracy
from leadscore.monitoring.accuracy import MaturedLeads
from leadscore.store import events
from leadscore.store.events import EventStore, OutcomeRow, TieredRow

UNKNOWN_TIER = "unknown"


def matured_leads(predictions: list[TieredRow], outcomes: list[OutcomeRow], maturity: timedelta) -> MaturedLeads:
    """One row per lead (first prediction), labelled by the outcomes within ``maturity`` of it."""
    first: dict[str, TieredRow] = {}
    for row in predictions:
        first.setdefault(row.lead_id, row)
    converted: dict[str, float] = {}
    value: dict[str, float] = {}
    for outcome in outcomes:
        scored = first.get(outcome.lead_id)
        if scored is None or not outcome.converted:
            continue
        delay = outcome.occurred_at - scored.predicted_at
        if timedelta(0) <= delay <= maturity:
            days = delay.total_seconds() / 86400
            converted[outcome.lead_id] = min(converted.get(outcome.lead_id, days), days)
            value[outcome.lead_id] = value.get(outcome.lead_id, 0.0) + (outcome.value or 0.0)
    leads = list(first.values())
    return MaturedLeads(
        probability=np.fromiter((r.probability for r in leads), np.float64, len(leads)),
        converted=np.fromiter((r.lead_id in converted for r in leads), bool, len(leads)),
        tier=np.asarray([r.tier or UNKNOWN_TIER for r in leads], dtype=object),
        value=np.fromiter((value.get(r.lead_id, 0.0) for r in leads), np.float64, len(leads)),
        days_to_conversion=np.fromiter((converted.get(r.lead_id, np.nan) for r in leads), np.float64, len(leads)),
    )


def live_performance(store: EventStore, namespace: str, service: str, version: str, since: datetime,
                     until: datetime, maturity: timedelta, now: datetime | None = None) -> LivePerformance:
    """The figures of one version's leads first scored in [since, min(until, now - maturity))."""
    now = now or datetime.now(UTC)
    until = min(until, now - maturity)
    where = events.in_window(namespace, service, version, since, until)
    with store.transaction() as session:
        predictions = events.tiered(session, where) if since < until else []
        outcomes = events.exposure_outcomes(session, where) if predictions else []
    leads = matured_leads(predictions, outcomes, maturity)
    auc, brier, lift = accuracy.bootstrap(leads, top_tier=accuracy.TIER_ORDER[0])
    n, k = len(leads.converted), int(leads.converted.sum())
    return LivePerformance(
        namespace=namespace, service=service, model_version=version, since=since, until=max(until, since),
        maturity_days=maturity.total_seconds() / 86400, evaluated_at=now, leads=n, conversions=k,
        conversion_rate=k / n if n else 0.0, roc_auc=auc, brier=brier, calibration=accuracy.calibration(leads),
        tiers=accuracy.tiers(leads), top_tier_lift=lift, revenue_per_lead=accuracy.revenue_per_lead(leads),
        time_to_conversion=accuracy.time_to_conversion(leads),
    )

"""Why (and whether) a model needs a new training now: pure, so every trigger is unit-tested."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from croniter import croniter

from leadscore.api.leadscoringmodel import LeadScoringModelSpec, LeadScoringModelStatus
from leadscore.operator.versions import RETRAIN_ANNOTATION, training_spec_hash


def latest_tick(cron: str, now: datetime) -> datetime:
    """The most recent scheduled time at or before ``now`` (UTC)."""
    tick: datetime = croniter(cron, now).get_prev(datetime)
    return tick


def training_trigger(spec: LeadScoringModelSpec, status: LeadScoringModelStatus,
                     annotations: Mapping[str, str], now: datetime) -> str | None:
    """created / specChanged / annotation / schedule, or None. A training still running is
    never doubled: the caller checks that first, and a change during it is picked up after."""
    if status.training is None:
        return "created"
    if status.training.spec_hash != training_spec_hash(spec):
        return "specChanged"
    request = annotations.get(RETRAIN_ANNOTATION)
    if request and request != status.retrain_request:
        return "annotation"
    schedule = spec.schedule
    if schedule is not None and not schedule.suspend:
        since = status.last_schedule_time or status.training.started
        if since is not None and latest_tick(schedule.cron, now) > since:
            return "schedule"
    return None

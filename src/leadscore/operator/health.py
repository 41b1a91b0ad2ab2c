"""The served version's health, and whether it calls for a retraining: pure, unit-tested.

The collector measures (drift of the served leads, live accuracy of the matured ones); this
module reads those figures against ``spec.retrain`` and the version's training AUC. Order of
the triggers when several hold: degradation, drift, newOutcomes, maxAge (the first named is
the one recorded). A cooldown after the last training start holds every automatic trigger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leadscore.api.health import DriftWindow, LivePerformance
from leadscore.api.leadscoringmodel import (
    DegradationTrigger,
    DriftHealth,
    ModelHealth,
    ModelVersion,
    RetrainSpec,
    TierHealth,
)
from leadscore.experiments.settings import parse_duration
from leadscore.operator.gate import GATE_METRIC

WATCH_PSI = 0.1
DRIFT_PSI = 0.2


@dataclass(frozen=True)
class Figures:
    """What the collector answered; a note says why a figure is missing."""

    drift: DriftWindow | None = None
    drift_note: str | None = None
    live: LivePerformance | None = None
    live_note: str | None = None


@dataclass(frozen=True)
class Due:
    """A retraining the figures call for; ``held`` names the cooldown's end when it must wait."""

    trigger: str
    reason: str
    held: datetime | None = None


def degraded(live: LivePerformance | None, training_auc: float | None, margin: float, min_outcomes: int) -> bool:
    """Even the optimistic end of the live AUC's 95 % interval is more than ``margin`` below the
    training AUC: decay, not the noise of a few hundred outcomes."""
    if live is None or live.roc_auc is None or training_auc is None or live.leads < min_outcomes:
        return False
    return live.roc_auc.upper < training_auc - margin


def _drift_health(drift: DriftWindow | None) -> DriftHealth | None:
    if drift is None:
        return None
    return DriftHealth(score_psi=drift.score_psi, drifted_fields=list(drift.drifted), leads=drift.rows,
                       since=drift.since)


def _auc_text(live: LivePerformance | None, note: str | None) -> str:
    if live is None:
        return f"live accuracy unknown ({note})" if note else "live accuracy unknown"
    if live.roc_auc is None:
        return f"{live.leads} matured leads, {live.conversions} converted: no live AUC yet"
    auc = live.roc_auc
    return f"live AUC {auc.value:.3f} [{auc.lower:.3f}, {auc.upper:.3f}] on {live.leads} matured leads"


def _drift_text(drift: DriftWindow | None, note: str | None) -> str:
    if drift is None:
        return f"drift unknown ({note})" if note else "drift unknown"
    fields = ", ".join(drift.drifted) or "no field"
    return f"score PSI {drift.score_psi:.3f}, drifted: {fields} ({drift.rows} leads)"


def assess(version: ModelVersion, figures: Figures, retrain: RetrainSpec | None, now: datetime) -> ModelHealth:
    """``status.health`` from the collector's figures."""
    training_auc = version.metrics.get(GATE_METRIC)
    degradation = (retrain.degradation if retrain and retrain.degradation else DegradationTrigger())
    min_outcomes = retrain.min_outcomes if retrain else RetrainSpec().min_outcomes
    drift, live = figures.drift, figures.live
    if drift is None and live is None:
        summary = "Unknown"
    elif degraded(live, training_auc, degradation.margin, min_outcomes):
        summary = "Degraded"
    elif drift is not None and (drift.drifted or drift.score_psi >= DRIFT_PSI):
        summary = "Drift"
    elif drift is not None and drift.score_psi >= WATCH_PSI:
        summary = "Watch"
    else:
        summary = "OK"
    trained = f" (training {training_auc:.3f})" if training_auc is not None else ""
    return ModelHealth(
        version=version.version, summary=summary, last_evaluated=now,
        message=f"{version.version}: {_drift_text(drift, figures.drift_note)}; "
                f"{_auc_text(live, figures.live_note)}{trained}",
        drift=_drift_health(drift),
        live_roc_auc=live.roc_auc.value if live and live.roc_auc else None,
        live_roc_auc_lower=live.roc_auc.lower if live and live.roc_auc else None,
        live_roc_auc_upper=live.roc_auc.upper if live and live.roc_auc else None,
        training_roc_auc=training_auc, matured_leads=live.leads if live else 0,
        conversion_by_tier=[TierHealth(tier=t.tier, leads=t.leads, rate=t.rate) for t in live.tiers] if live else [],
    )


def _triggered(retrain: RetrainSpec, version: ModelVersion, figures: Figures, now: datetime) -> Due | None:
    live, drift = figures.live, figures.drift
    training_auc = version.metrics.get(GATE_METRIC)
    if retrain.degradation and degraded(live, training_auc, retrain.degradation.margin, retrain.min_outcomes):
        assert live is not None and live.roc_auc is not None and training_auc is not None
        return Due("degradation", f"live AUC {live.roc_auc.value:.3f} (95 % up to {live.roc_auc.upper:.3f}) on "
                                  f"{live.leads} matured leads is more than {retrain.degradation.margin:g} below "
                                  f"the training AUC {training_auc:.3f}")
    if retrain.drift and drift is not None:
        rule = retrain.drift
        if rule.score_psi is not None and drift.score_psi >= rule.score_psi:
            return Due("drift", f"score PSI {drift.score_psi:.3f} >= {rule.score_psi:g} over {drift.rows} "
                                f"served leads")
        if rule.fields is not None and len(drift.drifted) >= rule.fields:
            return Due("drift", f"{len(drift.drifted)} fields drifted ({', '.join(drift.drifted)}) >= "
                                f"{rule.fields}")
    if retrain.new_outcomes is not None and live is not None and live.leads >= retrain.new_outcomes:
        return Due("newOutcomes", f"{live.leads} matured leads since the last training >= {retrain.new_outcomes}")
    if retrain.max_age is not None and version.created is not None:
        age = now - version.created
        if age >= parse_duration(retrain.max_age):
            return Due("maxAge", f"{version.version} is {age.days} days old (maxAge {retrain.max_age})")
    return None


def retrain_due(retrain: RetrainSpec | None, version: ModelVersion, figures: Figures, last_started: datetime | None,
                now: datetime) -> Due | None:
    """The trigger the figures fire, if any; held (not started) within the cooldown."""
    if retrain is None:
        return None
    due = _triggered(retrain, version, figures, now)
    if due is None or last_started is None:
        return due
    ends = last_started + parse_duration(retrain.cooldown)
    return Due(due.trigger, due.reason, held=ends) if now < ends else due

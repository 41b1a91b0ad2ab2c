"""Health and the automatic retrain triggers: degradation judged with its interval, drift,
newOutcomes, maxAge, the minimum sample and the cooldown (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from leadscore.api.health import DriftWindow, FieldDrift, LivePerformance
from leadscore.api.leadscoringmodel import ModelVersion, RetrainSpec
from leadscore.monitoring import accuracy
from leadscore.monitoring.accuracy import MaturedLeads
from leadscore.operator.health import Figures, assess, degraded, retrain_due

NOW = datetime(2026, 6, 1, tzinfo=UTC)
CREATED = NOW - timedelta(days=30)


def version(auc: float = 0.78) -> ModelVersion:
    return ModelVersion(version="v1", created=CREATED, metrics={"roc_auc": auc}, artifact_uri="s3://b/m/v1/",
                        job_name="m-train-v1", gate="Passed")


def live_from(probability: np.ndarray, converted: np.ndarray) -> LivePerformance:
    tiers = np.where(probability >= 0.4, "high", "low").astype(object)
    leads = MaturedLeads(probability=probability, converted=converted, tier=tiers, value=np.zeros(len(tiers)),
                         days_to_conversion=np.full(len(tiers), np.nan))
    auc, brier, lift = accuracy.bootstrap(leads, "high", draws=200)
    return LivePerformance(namespace="s", service="m", model_version="v1", since=CREATED, until=NOW,
                           maturity_days=14, evaluated_at=NOW, leads=len(tiers), conversions=int(converted.sum()),
                           conversion_rate=float(converted.mean()), roc_auc=auc, brier=brier,
                           tiers=accuracy.tiers(leads), top_tier_lift=lift)


def served(n: int, seed: int, changed: bool) -> LivePerformance:
    """Outcomes of n leads: drawn from the scores (same process) or from a process the scores no
    longer describe (half of what drove conversion is now noise)."""
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 8, n)
    truth = 0.5 * p + 0.5 * rng.permutation(p) if changed else p
    return live_from(p, rng.random(n) < truth)


TRAINING_AUC = accuracy.roc_auc(*(lambda p, r: (r.random(len(p)) < p, p))(
    np.random.default_rng(0).beta(2, 8, 200_000), np.random.default_rng(1)))


@pytest.mark.parametrize(("n", "caught"), [(300, 6), (1000, 16), (3000, 20)])
def test_degradation_fires_on_a_changed_process_and_stays_silent_otherwise(n: int, caught: int) -> None:
    """Training AUC 0.71; the changed process takes the live AUC to about 0.60."""
    runs = 20
    spec = RetrainSpec.model_validate({"degradation": {"margin": 0.03}, "minOutcomes": 100})
    model = version(round(TRAINING_AUC, 4))
    fired_same = sum(retrain_due(spec, model, Figures(live=served(n, s, False)), None, NOW) is not None
                     for s in range(runs))
    fired_changed = sum(retrain_due(spec, model, Figures(live=served(n, s, True)), None, NOW) is not None
                        for s in range(runs))
    assert fired_same == 0
    # on 300 leads (about 60 conversions) the interval is wide and a real drop is often not yet
    # provable; from a few thousand it always is (measured rates: docs/monitoring.md)
    assert fired_changed >= caught


def test_no_degradation_verdict_below_the_minimum_outcomes() -> None:
    live = served(2000, 1, True)
    assert degraded(live, TRAINING_AUC, 0.03, min_outcomes=2000)
    assert not degraded(live, TRAINING_AUC, 0.03, min_outcomes=2001)


def drift(score_psi: float, drifted: list[str], rows: int = 800) -> DriftWindow:
    fields = [FieldDrift(name=n, psi=0.3, p_value=1e-9, drifted=True) for n in drifted]
    return DriftWindow(fields=fields, score_psi=score_psi, drifted=drifted, namespace="s", service="m",
                       model_version="v1", since=NOW - timedelta(days=7), until=NOW, rows=rows)


def test_drift_fires_on_the_score_psi_or_the_field_count() -> None:
    spec = RetrainSpec.model_validate({"drift": {"scorePsi": 0.2, "fields": 2}})
    assert retrain_due(spec, version(), Figures(drift=drift(0.05, ["source"])), None, NOW) is None
    by_score = retrain_due(spec, version(), Figures(drift=drift(0.25, [])), None, NOW)
    assert by_score.trigger == "drift" and "score PSI 0.250 >= 0.2" in by_score.reason
    by_fields = retrain_due(spec, version(), Figures(drift=drift(0.05, ["source", "state"])), None, NOW)
    assert by_fields.trigger == "drift" and "source, state" in by_fields.reason


def test_new_outcomes_and_max_age() -> None:
    spec = RetrainSpec.model_validate({"newOutcomes": 500, "maxAge": "45d"})
    assert retrain_due(spec, version(), Figures(live=served(400, 1, False)), None, NOW) is None
    assert retrain_due(spec, version(), Figures(live=served(500, 1, False)), None, NOW).trigger == "newOutcomes"
    old = retrain_due(spec, version(), Figures(), None, NOW + timedelta(days=16))
    assert old.trigger == "maxAge" and "46 days old" in old.reason


def test_the_cooldown_holds_a_due_retraining_until_it_ends() -> None:
    spec = RetrainSpec.model_validate({"drift": {"scorePsi": 0.2}, "cooldown": "2d"})
    figures = Figures(drift=drift(0.4, []))
    held = retrain_due(spec, version(), figures, NOW - timedelta(days=1), NOW)
    assert held.trigger == "drift" and held.held == NOW + timedelta(days=1)
    assert retrain_due(spec, version(), figures, NOW - timedelta(days=2), NOW).held is None


def test_degradation_is_named_first_when_several_triggers_hold() -> None:
    spec = RetrainSpec.model_validate({"drift": {"scorePsi": 0.2}, "degradation": {}, "maxAge": "1d"})
    figures = Figures(drift=drift(0.4, []), live=served(3000, 2, True))
    assert retrain_due(spec, version(TRAINING_AUC), figures, None, NOW).trigger == "degradation"


def test_no_retrain_spec_means_no_automatic_training() -> None:
    assert retrain_due(None, version(), Figures(drift=drift(3.0, ["a", "b"])), None, NOW) is None


def test_assess_summarises_what_the_collector_measured() -> None:
    unknown = assess(version(), Figures(drift_note="too few", live_note="unreachable"), None, NOW)
    assert unknown.summary == "Unknown" and "too few" in unknown.message
    ok = assess(version(TRAINING_AUC), Figures(drift=drift(0.02, []), live=served(3000, 3, False)), None, NOW)
    assert ok.summary == "OK" and ok.live_roc_auc_lower <= ok.live_roc_auc <= ok.live_roc_auc_upper
    assert ok.matured_leads == 3000 and {t.tier for t in ok.conversion_by_tier} == {"high", "low"}
    assert assess(version(), Figures(drift=drift(0.15, [])), None, NOW).summary == "Watch"
    assert assess(version(), Figures(drift=drift(0.05, ["source"])), None, NOW).summary == "Drift"
    bad = assess(version(TRAINING_AUC), Figures(live=served(3000, 3, True)), None, NOW)
    assert bad.summary == "Degraded" and bad.drift is None

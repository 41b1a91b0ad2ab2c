"""The operator's Prometheus metrics (default registry, served on ``LEADSCORE_METRICS_PORT``).

The chart's PrometheusRule alerts on training failures, SRM halts, drift and accuracy drops
from these; docs/monitoring.md lists them.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from leadscore.api.leadscoringmodel import ModelHealth

RECONCILE_SECONDS = Histogram(
    "leadscore_operator_reconcile_seconds", "Time of one reconcile pass, by resource kind.", ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
TRAININGS = Counter(
    "leadscore_trainings", "Finished trainings by result: succeeded (passed the gate), gate_failed, failed.",
    ["namespace", "model", "result"])
EXPERIMENT_DECISIONS = Counter(
    "leadscore_experiment_decisions",
    "Experiments concluded, by decision: promote, rollback, inconclusive, halted_srm (sample-ratio mismatch), "
    "halted (too little data by maxDuration).", ["namespace", "experiment", "decision"])
_MODEL = ["namespace", "model"]
SCORE_PSI = Gauge("leadscore_model_score_psi", "Served version's score PSI over the drift window.", _MODEL)
DRIFTED_FIELDS = Gauge("leadscore_model_drifted_fields", "Served version's input fields flagged as drifted.", _MODEL)
LIVE_AUC = Gauge("leadscore_model_live_roc_auc", "Served version's live ROC-AUC and its 95 % bounds.",
                 [*_MODEL, "bound"])
TRAINING_AUC = Gauge("leadscore_model_training_roc_auc", "Served version's held-out ROC-AUC at training.", _MODEL)
DEGRADED = Gauge("leadscore_model_degraded", "1 when the served version's health is Degraded, else 0.", _MODEL)


def observe_health(namespace: str, model: str, health: ModelHealth) -> None:
    """Mirror ``status.health`` (figures the collector could not give are left as they were)."""
    if health.drift is not None:
        SCORE_PSI.labels(namespace, model).set(health.drift.score_psi)
        DRIFTED_FIELDS.labels(namespace, model).set(len(health.drift.drifted_fields))
    for bound, value in (("value", health.live_roc_auc), ("lower", health.live_roc_auc_lower),
                         ("upper", health.live_roc_auc_upper)):
        if value is not None:
            LIVE_AUC.labels(namespace, model, bound).set(value)
    if health.training_roc_auc is not None:
        TRAINING_AUC.labels(namespace, model).set(health.training_roc_auc)
    DEGRADED.labels(namespace, model).set(1.0 if health.summary == "Degraded" else 0.0)

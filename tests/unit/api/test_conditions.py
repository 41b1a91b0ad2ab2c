"""Conditions behave like metav1.Condition and the phase follows from them alone."""

from __future__ import annotations

from datetime import UTC, datetime

from leadscore.api.conditions import (
    ANOTHER_EXPERIMENT_RUNNING,
    ARM_VERSION_MISSING,
    CONCLUDED,
    FALSE,
    ISVC_READY,
    JOB_FAILED,
    JOB_STARTED,
    NO_VERSION_YET,
    RUNNING,
    SERVING,
    TRAINED,
    TRUE,
    UNKNOWN,
    experiment_phase,
    model_phase,
    set_condition,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)


def test_set_condition_appends_with_transition_time_when_type_is_new():
    out = set_condition([], TRAINED, UNKNOWN, JOB_STARTED, "job m-train-v1 started", generation=3, now=T0)
    assert out == [{"type": "Trained", "status": "Unknown", "reason": "JobStarted",
                    "message": "job m-train-v1 started", "lastTransitionTime": "2026-01-01T00:00:00Z",
                    "observedGeneration": 3}]


def test_set_condition_keeps_transition_time_when_status_unchanged():
    first = set_condition([], TRAINED, FALSE, JOB_FAILED, "a", now=T0)
    second = set_condition(first, TRAINED, FALSE, JOB_FAILED, "b", now=T1)
    assert second[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert second[0]["message"] == "b"


def test_set_condition_moves_transition_time_and_keeps_others_when_status_flips():
    base = set_condition(set_condition([], SERVING, TRUE, ISVC_READY, "", now=T0), TRAINED, UNKNOWN,
                         JOB_STARTED, "", now=T0)
    out = set_condition(base, TRAINED, TRUE, "VersionPromoted", "", now=T1)
    assert [c["type"] for c in out] == ["Serving", "Trained"]
    assert out[1]["lastTransitionTime"] == "2026-01-02T00:00:00Z"
    assert out[0] == base[0]


def _conds(*items):
    out: list = []
    for type_, status, reason in items:
        out = set_condition(out, type_, status, reason, "", now=T0)
    return out


def test_model_phase_follows_conditions_when_in_each_state():
    assert model_phase([]) == "Pending"
    assert model_phase(_conds((TRAINED, UNKNOWN, JOB_STARTED), (SERVING, TRUE, ISVC_READY))) == "Training"
    assert model_phase(_conds((TRAINED, TRUE, "VersionPromoted"), (SERVING, TRUE, ISVC_READY))) == "Ready"
    assert model_phase(_conds((TRAINED, FALSE, JOB_FAILED), (SERVING, TRUE, ISVC_READY))) == "Degraded"
    assert model_phase(_conds((TRAINED, FALSE, JOB_FAILED), (SERVING, FALSE, NO_VERSION_YET))) == "Failed"
    assert model_phase(_conds((TRAINED, TRUE, "VersionPromoted"), (SERVING, UNKNOWN, "x"))) == "Deploying"


def test_experiment_phase_follows_conditions_when_in_each_state():
    assert experiment_phase([]) == "Pending"
    assert experiment_phase(_conds((RUNNING, FALSE, ANOTHER_EXPERIMENT_RUNNING))) == "Pending"
    assert experiment_phase(_conds((RUNNING, TRUE, "TrafficSplit"))) == "Running"
    assert experiment_phase(_conds((RUNNING, FALSE, ARM_VERSION_MISSING))) == "Stopped"
    concluded = _conds((RUNNING, FALSE, "DecisionReached"), (CONCLUDED, TRUE, "x"))
    assert experiment_phase(concluded) == "Concluded"

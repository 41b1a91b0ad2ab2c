"""Why a model retrains: creation, spec change, annotation, cron tick."""

from __future__ import annotations

from datetime import UTC, datetime

from leadscore.api.leadscoringmodel import LeadScoringModelSpec, LeadScoringModelStatus, TrainingRun
from leadscore.operator.triggers import latest_tick, training_trigger
from leadscore.operator.versions import training_spec_hash

SPEC = LeadScoringModelSpec.model_validate({"vertical": "pc", "dataset": {"uri": "s3://leads/pc.csv"},
                                            "schedule": {"cron": "30 2 * * *"}})
STARTED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _status(**fields) -> LeadScoringModelStatus:
    run = TrainingRun(version="v1", job_name="m-train-v1", trigger="created", spec_hash=training_spec_hash(SPEC),
                      started=STARTED, finished=True)
    return LeadScoringModelStatus(training=run, **fields)


def test_trigger_is_created_when_never_trained():
    assert training_trigger(SPEC, LeadScoringModelStatus(), {}, STARTED) == "created"


def test_trigger_is_none_when_nothing_changed_before_the_next_tick():
    assert training_trigger(SPEC, _status(), {}, datetime(2026, 3, 2, 2, 0, tzinfo=UTC)) is None


def test_trigger_is_schedule_when_a_tick_passed_since_the_last_training():
    assert training_trigger(SPEC, _status(), {}, datetime(2026, 3, 2, 2, 31, tzinfo=UTC)) == "schedule"


def test_trigger_ignores_a_tick_already_acted_on():
    status = _status(last_schedule_time=datetime(2026, 3, 2, 2, 30, tzinfo=UTC))
    assert training_trigger(SPEC, status, {}, datetime(2026, 3, 2, 3, 0, tzinfo=UTC)) is None


def test_trigger_is_annotation_only_for_a_new_value():
    status = _status(retrain_request="1")
    now = datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    assert training_trigger(SPEC, status, {"leadscoring.io/retrain": "1"}, now) is None
    assert training_trigger(SPEC, status, {"leadscoring.io/retrain": "2"}, now) == "annotation"


def test_trigger_is_spec_changed_when_the_dataset_moves():
    moved = SPEC.model_copy(update={"dataset": SPEC.dataset.model_copy(update={"uri": "s3://leads/new.csv"})})
    assert training_trigger(moved, _status(), {}, STARTED) == "specChanged"


def test_latest_tick_is_at_or_before_now():
    assert latest_tick("0 3 * * 1", datetime(2026, 3, 4, 0, 0, tzinfo=UTC)) == datetime(2026, 3, 2, 3, 0, tzinfo=UTC)

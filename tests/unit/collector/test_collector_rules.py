"""The collector's pure rules: experiment/arm assignment, outcome keys, summary and export."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from leadscore.api.summary import TierCount
from leadscore.collector.cloudevents import assign_experiment, declared_experiment, logger_headers, parse_event
from leadscore.collector.export import ScoredRecord, training_frame
from leadscore.collector.outcomes import OutcomeIn
from leadscore.collector.payloads import request_instances, scored_leads
from leadscore.collector.summary import Exposure, Result, summarize
from leadscore.collector.tiers import contact_by_tier
from leadscore.errors import InvalidInputError
from leadscore.store.events import DeadlineRow, OutcomeRow
from unit.collector.kserve_logger import headers

T0 = datetime(2024, 1, 1, 12, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _context(**kw: str | None) -> object:
    return parse_event(headers("x", "response", **kw), b"{}")[0]  # type: ignore[arg-type]


def test_assign_experiment_prefers_ce_experiment_over_annotation() -> None:
    sent = headers("x", "response", experiment="from-annotation")
    sent["Ce-Experiment"] = "direct"
    assert assign_experiment(parse_event(sent, b"{}")[0], "treatment") == ("direct", "treatment")


def test_assign_experiment_falls_back_to_isvc_name_when_response_names_an_arm() -> None:
    assert assign_experiment(_context(isvc="churn-model"), "control") == ("churn-model", "control")  # type: ignore[arg-type]


def test_assign_experiment_leaves_both_empty_without_experiment_or_arm() -> None:
    assert assign_experiment(_context(endpoint="canary"), None) == (None, None)  # type: ignore[arg-type]


def test_logger_headers_parse_back_to_the_same_context_when_every_option_is_set() -> None:
    sent = logger_headers("e1", "response", inference_service="leads", namespace="sales", source="http://agent/",
                          endpoint="canary", experiment="direct", annotations={"team": "a"}, time=T0)
    context = parse_event(sent, b"{}")[0]
    assert (context.id, context.is_request, context.source, context.inferenceservicename, context.namespace,
            context.endpoint, context.component, context.time) == (
        "e1", False, "http://agent/", "leads", "sales", "canary", "predictor", T0)
    assert (context.experiment, context.annotations) == ("direct", '{"team": "a"}')


def test_logger_headers_name_the_experiment_through_annotations_when_no_extension_is_given() -> None:
    sent = logger_headers("e2", "request", inference_service="leads", namespace="sales", source="http://agent/",
                          annotations={"leadscoring.io/experiment": "ab-1"})
    context = parse_event(sent, b"{}")[0]
    assert "ce-experiment" not in sent and "ce-time" not in sent
    assert (context.is_request, context.endpoint, declared_experiment(context)) == (True, "default", "ab-1")


def test_parse_event_reads_headers_case_insensitively() -> None:
    context, _ = parse_event({k.upper(): v for k, v in headers("abc", "request", namespace="ops").items()}, b"{}")
    assert (context.id, context.is_request, context.namespace) == ("abc", True, "ops")


def test_request_instances_refuse_v2_tensor_with_wrong_row_count() -> None:
    body = (
        b'{"inputs": [{"name": "a", "shape": [2], "datatype": "INT64", "data": [1, 2]},'
        b' {"name": "b", "shape": [3], "datatype": "INT64", "data": [1, 2, 3]}]}'
    )
    with pytest.raises(InvalidInputError, match=r"inputs\[1\] \(b\): expected 2 values"):
        request_instances(body)


def test_request_instances_refuse_v2_record_that_is_not_an_object() -> None:
    body = b'{"inputs": [{"name": "records", "shape": [1], "datatype": "BYTES", "data": ["{broken"]}]}'
    with pytest.raises(InvalidInputError, match=r"inputs\[0\]\.data\[0\]: not a JSON record"):
        request_instances(body)


def test_scored_leads_take_numeric_lead_id_as_text() -> None:
    leads = scored_leads(b'{"predictions": [{"lead_id": 1234, "probability": 0.5, "model_version": "v1"}]}')
    assert leads[0].lead_id == "1234"


def test_outcome_key_is_the_same_for_same_content_in_other_time_zone() -> None:
    utc = OutcomeIn(lead_id="L1", converted=True, occurred_at="2024-01-01T12:00:00Z")  # type: ignore[arg-type]
    paris = OutcomeIn(lead_id="L1", converted=True, occurred_at="2024-01-01T13:00:00+01:00")  # type: ignore[arg-type]
    other = OutcomeIn(lead_id="L1", converted=False, occurred_at="2024-01-01T12:00:00Z")  # type: ignore[arg-type]
    assert utc.key() == paris.key() != other.key()
    assert utc.key().startswith("sha256:")


def test_outcome_key_of_an_outcome_without_contact_or_acceptance_is_the_one_it_had_before_they_existed() -> None:
    """Stored derived keys must still match a re-post after the upgrade, or it would count twice."""
    plain = OutcomeIn(lead_id="L1", converted=True, value=5.0, occurred_at="2024-01-01T12:00:00Z")  # type: ignore[arg-type]
    content = json.dumps(["L1", True, 5.0, "2024-01-01T12:00:00+00:00"], separators=(",", ":"))
    assert plain.key() == "sha256:" + hashlib.sha256(content.encode()).hexdigest()
    contacted = plain.model_copy(update={"first_contacted_at": T0})
    accepted = plain.model_copy(update={"accepted": False})
    assert len({plain.key(), contacted.key(), accepted.key()}) == 3


def test_summarize_counts_the_latest_acceptance_report_after_the_first_exposure_per_arm() -> None:
    exposures = [Exposure(lead, arm, "v", T0) for lead, arm in
                 (("L1", "treatment"), ("L2", "treatment"), ("L3", "treatment"), ("L4", "control"))]
    later = T0 + timedelta(hours=1)
    results = [
        Result("L1", False, None, T0, accepted=False),
        Result("L1", False, None, later, accepted=True),    # turned down, then taken: the latest counts
        Result("L2", False, None, later, accepted=False),
        Result("L3", False, None, T0 - timedelta(hours=1), accepted=True),  # before its exposure
        Result("L4", True, None, later),                    # no report: not in the rate's denominator
    ]
    arms = summarize("ns", "ab", exposures, results, T0).arms
    treatment, control = arms["treatment"], arms["control"]
    assert (treatment.acceptance_reports, treatment.accepted, treatment.acceptance_rate()) == (2, 1, 0.5)
    assert (control.acceptance_reports, control.acceptance_rate()) == (0, None)


def _scored(lead: str, tier: str, minutes_ago: float, sla: float | None = 1800.0) -> DeadlineRow:
    return DeadlineRow(lead, tier, NOW - timedelta(minutes=minutes_ago), sla)


def _contact(lead: str, minutes_ago: float) -> OutcomeRow:
    return OutcomeRow(lead, False, None, NOW, NOW - timedelta(minutes=minutes_ago), None)


def test_contact_by_tier_counts_met_due_and_the_median_by_the_documented_rules() -> None:
    scored = [
        _scored("A", "high", 120), _scored("A", "high", 60),  # re-scored: the first score's deadline counts
        _scored("B", "high", 120),                           # never contacted, deadline passed: due, missed
        _scored("C", "high", 10),                            # inside its deadline, not contacted: not due
        _scored("D", "high", 120),                           # contacted 60 min after its score: missed
        _scored("E", "very_low", 120, sla=None),             # no deadline: contacted, never due
    ]
    outcomes = [_contact("A", 100), _contact("A", 110), _contact("B", 130),  # B's contact predates its score
                _contact("D", 60), _contact("E", 0)]
    tiers = contact_by_tier(scored, outcomes, NOW)
    high = TierCount(tier="high", leads=4, **tiers["high"])
    assert (high.contacted, high.sla_met, high.sla_due, high.sla_met_share) == (2, 1, 3, 1 / 3)
    assert high.median_hours_to_first_contact == pytest.approx((10 / 60 + 1) / 2)  # A after 10 min, D after 60
    low = TierCount(tier="very_low", leads=1, **tiers["very_low"])
    assert (low.sla_seconds, low.contacted, low.sla_due, low.sla_met_share, low.median_hours_to_first_contact) == (
        None, 1, 0, None, 2.0)


def test_scored_leads_read_a_v2_empty_sla_as_no_deadline_and_refuse_one_that_does_not_parse() -> None:
    body = json.dumps({"outputs": [
        {"name": "lead_id", "shape": [2], "datatype": "BYTES", "data": ["L1", "L2"]},
        {"name": "probability", "shape": [2], "datatype": "FP64", "data": [0.9, 0.1]},
        {"name": "sla", "shape": [2], "datatype": "BYTES", "data": ["30m", ""]},
        {"name": "model_version", "shape": [2], "datatype": "BYTES", "data": ["v1", "v1"]},
    ]}).encode()
    assert [lead.sla for lead in scored_leads(body)] == ["30m", None]
    bad = json.dumps({"predictions": [{"lead_id": "L1", "probability": 0.5, "model_version": "v1",
                                       "sla": "soon"}]}).encode()
    with pytest.raises(InvalidInputError, match=r"sla"):
        scored_leads(bad)


def test_summarize_attributes_value_only_from_converted_outcomes_after_exposure() -> None:
    exposures = [Exposure("L1", "treatment", "v2", T0), Exposure("L2", "treatment", "v2", T0)]
    results = [
        Result("L1", True, 40.0, T0 + timedelta(days=1)),
        Result("L1", False, 999.0, T0 + timedelta(days=2)),
        Result("L2", True, 70.0, T0 - timedelta(seconds=1)),
    ]
    arm = summarize("ns", "ab", exposures, results, T0).arms["treatment"]
    assert (arm.exposures, arm.conversions, arm.value_sum, arm.value_sum_sq) == (2, 1, 40.0, 1600.0)


def test_summarize_squares_per_lead_totals_not_single_outcomes() -> None:
    exposures = [Exposure("L1", "control", "v1", T0)]
    results = [Result("L1", True, 3.0, T0), Result("L1", True, 4.0, T0 + timedelta(hours=1))]
    arm = summarize("ns", "ab", exposures, results, T0).arms["control"]
    assert (arm.conversions, arm.value_sum, arm.value_sum_sq) == (1, 7.0, 49.0)


def test_summarize_averages_first_exposure_scores_and_time_to_first_conversion_per_arm() -> None:
    exposures = [
        Exposure("L1", "treatment", "v2", T0, score=80.0),
        Exposure("L1", "treatment", "v2", T0 + timedelta(hours=1), score=10.0),  # a re-score is not an exposure
        Exposure("L2", "treatment", "v2", T0, score=40.0),
        Exposure("L3", "treatment", "v2", T0),  # rules arm responses may carry no score
        Exposure("L4", "control", "v1", T0, score=20.0),
    ]
    results = [
        Result("L1", True, None, T0 + timedelta(hours=6)),
        Result("L1", True, None, T0 + timedelta(hours=2)),  # the earliest conversion counts
        Result("L2", True, None, T0 - timedelta(hours=1)),  # before exposure: not caused by the arm
        Result("L3", True, None, T0 + timedelta(hours=10)),
    ]
    arms = summarize("ns", "ab", exposures, results, T0).arms
    treatment, control = arms["treatment"], arms["control"]
    assert (treatment.score_count, treatment.mean_score()) == (2, 60.0)
    assert (treatment.conversions, treatment.conversion_time_count, treatment.mean_hours_to_conversion()) == (2, 2, 6.0)
    assert (control.mean_score(), control.mean_hours_to_conversion()) == (20.0, None)


def test_summarize_reports_latest_model_version_of_each_arm() -> None:
    exposures = [Exposure("L1", "control", "v1", T0), Exposure("L2", "control", "v4", T0 + timedelta(days=1))]
    assert summarize("ns", "ab", exposures, [], T0).arms["control"].model_version == "v4"


def test_summarize_groups_daily_counts_by_first_exposure_day() -> None:
    exposures = [
        Exposure("L1", "control", "v1", T0),
        Exposure("L1", "control", "v1", T0 + timedelta(days=3)),
        Exposure("L2", "treatment", "v2", T0 + timedelta(days=1)),
    ]
    results = [Result("L2", True, None, T0 + timedelta(days=5))]
    daily = summarize("ns", "ab", exposures, results, T0).daily
    assert [(d.day.isoformat(), d.arm, d.exposures, d.conversions) for d in daily] == [
        ("2024-01-01", "control", 1, 0),
        ("2024-01-02", "treatment", 1, 1),
    ]


def test_training_frame_keeps_first_scoring_and_flattens_nested_features() -> None:
    scored = [
        ScoredRecord("L1", {"lead_id": "L1", "contact": {"email": True}, "visits": 2}, T0 + timedelta(days=2)),
        ScoredRecord("L1", {"lead_id": "L1", "contact": {"email": False}, "visits": 1}, T0),
        ScoredRecord("L2", {"lead_id": "L2", "contact": {"email": True}, "visits": 9}, T0),
        ScoredRecord("L3", None, T0),
    ]
    frame, report = training_frame(scored, {"L1": True, "L3": False})
    assert list(frame.columns) == ["lead_id", "predicted_at", "visits", "contact.email", "converted"]
    assert frame.to_dict("records")[0] | {"predicted_at": None} == {
        "lead_id": "L1",
        "predicted_at": None,
        "contact.email": False,
        "visits": 1,
        "converted": 1,
    }
    assert (report.rows, report.converted, report.without_outcome, report.without_features) == (1, 1, 1, 1)


def test_training_frame_is_empty_when_no_lead_has_an_outcome() -> None:
    frame, report = training_frame([ScoredRecord("L1", {"x": 1}, T0)], {})
    assert (len(frame), report.rows, report.without_outcome) == (0, 0, 1)


def test_training_frame_turns_mixed_type_fields_into_text_so_parquet_accepts_them() -> None:
    import io

    import pandas as pd

    scored = [
        ScoredRecord("L1", {"zip": 12345, "visits": 1}, T0),
        ScoredRecord("L2", {"zip": "02134", "visits": 2}, T0),
        ScoredRecord("L3", {"visits": 3}, T0),
    ]
    frame, _ = training_frame(scored, {"L1": True, "L2": False, "L3": False})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    back = pd.read_parquet(buffer)
    assert back["zip"].tolist() == ["12345", "02134", None]
    assert back["visits"].tolist() == [1, 2, 3]

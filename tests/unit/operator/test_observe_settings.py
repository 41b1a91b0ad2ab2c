"""Reading Job outcomes, trainer results and ISVC state; the operator's environment settings."""

from __future__ import annotations

import pytest

from leadscore.api.leadscoringmodel import TrafficTarget
from leadscore.api.results import TrainingResult
from leadscore.errors import ConfigError
from leadscore.operator.observe import job_outcome, observe_isvc, one_line, parse_result, termination_message
from leadscore.operator.settings import OperatorSettings


def _job(*conditions):
    return {"status": {"conditions": [{"type": t, "status": s, "reason": r, "message": m}
                                      for t, s, r, m in conditions]}}


def test_job_outcome_is_running_when_only_interim_conditions_are_set():
    assert job_outcome(_job(("FailureTarget", "True", "BackoffLimitExceeded", ""))).state == "Running"
    assert job_outcome({}).state == "Running"


def test_job_outcome_reports_reason_and_message_when_failed():
    outcome = job_outcome(_job(("Failed", "True", "DeadlineExceeded", "Job was active longer than set")))
    assert (outcome.state, outcome.reason) == ("Failed", "DeadlineExceeded")
    assert "active longer" in outcome.message


def test_job_outcome_is_succeeded_when_complete():
    assert job_outcome(_job(("SuccessCriteriaMet", "True", "", ""), ("Complete", "True", "", ""))).state == \
        "Succeeded"


def _pod(created, message, name="trainer"):
    return {"metadata": {"creationTimestamp": created},
            "status": {"containerStatuses": [{"name": name, "state": {"terminated": {"message": message}}}]}}


def test_termination_message_comes_from_the_newest_pod_when_several_ran():
    pods = [_pod("2026-01-01T00:00:00Z", "old"), _pod("2026-01-01T01:00:00Z", "new"),
            _pod("2026-01-01T02:00:00Z", "sidecar", name="istio-proxy")]
    assert termination_message(pods) == "new"
    assert termination_message([]) is None


def test_parse_result_reads_the_trainer_json_and_ignores_log_tails():
    result = TrainingResult(status="Succeeded", version="v1", metrics={"roc_auc": 0.8})
    assert parse_result(result.to_termination_message()).metrics == {"roc_auc": 0.8}
    assert parse_result("Traceback (most recent call last):\n  boom") is None
    assert parse_result(None) is None


def test_one_line_keeps_the_last_line_of_a_log_tail():
    assert one_line("a\n\nKeyError: 'target'\n") == "KeyError: 'target'"
    assert len(one_line("x" * 1000, limit=50)) == 50


def test_observe_isvc_maps_revision_traffic_onto_versions_when_canary_runs():
    isvc = {"status": {"url": "http://m.ns.example.com",
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "components": {"predictor": {"traffic": [
                           {"revisionName": "m-predictor-00002", "percent": 10, "latestRevision": True},
                           {"revisionName": "m-predictor-00001", "percent": 90, "latestRevision": False},
                           {"revisionName": "m-predictor-00002", "tag": "latest", "latestRevision": True}]}}}}
    seen = observe_isvc(isvc, "v2", [TrafficTarget(version="v1", percent=90),
                                     TrafficTarget(version="v2", percent=10)])
    assert (seen.url, seen.ready) == ("http://m.ns.example.com", True)
    assert [(t.version, t.percent) for t in seen.traffic] == [("v2", 10), ("v1", 90)]


def test_observe_isvc_reports_why_when_not_ready():
    isvc = {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "RevisionMissing",
                                       "message": "Revision m-predictor-00001 failed"}]}}
    seen = observe_isvc(isvc, "v1", [])
    assert (seen.ready, seen.message) == (False, "Revision m-predictor-00001 failed")
    assert observe_isvc({}, "v1", []).message == "not reported yet"


def test_observe_isvc_names_the_predictor_cause_before_the_ingress_reason_when_standard_mode_waits():
    conditions = [{"type": "IngressReady", "status": "False", "reason": "Predictor ingress not created"},
                  {"type": "PredictorReady", "status": "False", "reason": "MinimumReplicasUnavailable",
                   "message": "Deployment does not have minimum availability."},
                  {"type": "Ready", "status": "False", "reason": "Predictor ingress not created"}]
    seen = observe_isvc({"status": {"conditions": conditions}}, "v1", [])
    assert seen.message == "PredictorReady: Deployment does not have minimum availability."


def test_settings_read_json_and_plain_values_when_set_in_env():
    settings = OperatorSettings.from_env({"LEADSCORE_GPU_NODE_SELECTOR": '{"gpu": "a100"}',
                                          "LEADSCORE_POLL_SECONDS": "2.5", "LEADSCORE_MLFLOW_CONFIG_MAP": ""})
    assert settings.gpu_node_selector == {"gpu": "a100"}
    assert settings.poll_seconds == 2.5
    assert settings.mlflow_config_map is None


@pytest.mark.parametrize(("env", "message"), [
    ({"LEADSCORE_POLL_SECONDS": "soon"}, "LEADSCORE_POLL_SECONDS: Input should be a valid number"),
    ({"LEADSCORE_GPU_TOLERATIONS": "[{"}, "LEADSCORE_GPU_TOLERATIONS: not valid JSON"),
    ({"LEADSCORE_POLL_SECONDS": "0"}, "LEADSCORE_POLL_SECONDS: Input should be greater than 0 (got '0')"),
])
def test_settings_name_the_variable_when_a_value_is_bad(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        OperatorSettings.from_env(env)

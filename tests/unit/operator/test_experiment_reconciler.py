"""The experiment reconcile pass over an in-memory cluster, with the collector's summary faked.
Each ``run`` plays the operator: the experiment's pass writes its own status; the model's pass
(the only writer of the model and its InferenceService) follows the experiment's claim."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from leadscore.api.abexperiment import ABExperimentSpec
from leadscore.api.leadscoringmodel import LeadScoringModelSpec
from leadscore.api.summary import ExperimentSummary, ServingSplit
from leadscore.operator import model_reconciler
from leadscore.operator.claims import arms_problem, intent_of
from leadscore.operator.experiment_reconciler import claim_for, context_from, reconcile_experiment

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def model_body(active="v1", pinned=None, experiment=None):
    versions = [{"version": v, "artifactUri": f"s3://models/ns/m/{v}/", "jobName": f"m-train-{v}",
                 "gate": "Passed", "metrics": {"roc_auc": 0.8}} for v in ("v1", "v2")]
    status = {"activeVersion": active, "versions": versions}
    if experiment:
        status["experiment"] = experiment
    spec = {"vertical": "pc", "dataset": {"uri": "s3://leads/pc.parquet"}}
    if pinned:
        spec["serving"] = {"pinnedVersion": pinned}
    return {"apiVersion": "leadscoring.io/v1alpha1", "kind": "LeadScoringModel",
            "metadata": {"name": "m", "namespace": "ns", "uid": "u", "resourceVersion": "1"},
            "spec": spec, "status": status}


def experiment_body(name="x", assignment="sticky", treatment="v2"):
    return {"metadata": {"name": name, "namespace": "ns", "generation": 1},
            "spec": {"modelRef": "m", "control": {"version": "v1"}, "treatment": {"version": treatment},
                     "assignment": assignment, "minSamplesPerArm": 500}, "status": {}}


def summary(control, treatment):
    return lambda namespace, name, split: ExperimentSummary(namespace=namespace, experiment=name, arms={
        "control": {"exposures": control[0], "conversions": control[1]},
        "treatment": {"exposures": treatment[0], "conversions": treatment[1]}})


def experiment_pass(kube, settings, exp, fetch):
    ctx = context_from(kube, settings, exp)
    ctx.now = NOW
    patch = reconcile_experiment(ctx, fetch)
    exp["status"] = {k: v for k, v in {**exp["status"], **patch}.items() if v is not None}
    return ctx


def model_pass(kube, settings, *experiments):
    """The model's reconciler following its experiments' claims (the operator's index)."""
    model = kube.models.get("m")
    if model is None:
        return None
    ctx = model_reconciler.context_from(kube, settings, model,
                                        experiments=[intent_of(e["metadata"], e["status"]) for e in experiments])
    before = ctx.status.model_copy(deep=True)
    model_reconciler.follow_experiments(ctx)
    model_reconciler.ensure_serving(ctx)
    patch = model_reconciler.status_patch(before, ctx.status)
    model["status"] = {k: v for k, v in {**model["status"], **patch}.items() if v is not None}
    return ctx


def run(kube, settings, exp, fetch, *others):
    """An experiment pass, the model's pass, and the experiment's again when the model just
    started serving it (the operator's follow-model timer)."""
    ctx = experiment_pass(kube, settings, exp, fetch)
    model_pass(kube, settings, exp, *others)
    bound = (kube.models.get("m", {}).get("status") or {}).get("experiment") or {}
    if bound.get("name") == exp["metadata"]["name"] and not exp["status"].get("started"):
        ctx = experiment_pass(kube, settings, exp, fetch)
    return ctx


def test_experiment_claims_the_model_and_splits_traffic_when_started(kube, settings):
    kube.models["m"] = model_body()
    exp = experiment_body()
    run(kube, settings, exp, summary((0, 0), (0, 0)))
    assert kube.models["m"]["status"]["experiment"]["name"] == "x"
    env = {e["name"]: e["value"] for e in kube.isvcs["m"]["spec"]["predictor"]["model"]["env"]}
    assert env["LEADSCORE_AB_TREATMENT_URI"] == "s3://models/ns/m/v2/"
    assert exp["status"]["phase"] == "Running"


def test_experiment_promotes_and_releases_when_the_treatment_wins(kube, settings):
    kube.models["m"] = model_body()
    exp = experiment_body()
    run(kube, settings, exp, summary((0, 0), (0, 0)))
    ctx = run(kube, settings, exp, summary((10000, 1000), (10000, 1300)))
    assert (exp["status"]["decision"], exp["status"]["phase"]) == ("promote", "Concluded")
    assert kube.models["m"]["status"]["activeVersion"] == "v2"
    assert "experiment" not in kube.models["m"]["status"]
    assert kube.isvcs["m"]["spec"]["predictor"]["model"]["storageUri"].endswith("/v2/")
    assert [e.reason for e in ctx.events] == ["DecisionReached"]
    run(kube, settings, exp, summary((10000, 1300), (10000, 1000)))  # concluded: nothing changes
    assert exp["status"]["decision"] == "promote"


def test_stopped_experiment_releases_the_model_promotes_nothing_and_stays_stopped(kube, settings):
    kube.models["m"] = model_body()
    exp = experiment_body()
    run(kube, settings, exp, summary((0, 0), (0, 0)))
    exp["spec"]["stopped"] = True
    ctx = run(kube, settings, exp, summary((10000, 1000), (10000, 1300)))  # a winner that must not be promoted
    assert exp["status"]["phase"] == "Stopped" and "decision" not in exp["status"]
    assert "experiment" not in kube.models["m"]["status"] and kube.models["m"]["status"]["activeVersion"] == "v1"
    assert kube.isvcs["m"]["spec"]["predictor"]["model"]["storageUri"].endswith("/v1/")
    assert [e.reason for e in ctx.events] == ["StoppedByUser"]
    exp["spec"]["stopped"] = False  # final: un-setting it starts nothing
    run(kube, settings, exp, summary((0, 0), (0, 0)))
    assert exp["status"]["phase"] == "Stopped" and "experiment" not in kube.models["m"]["status"]


def test_stopping_with_a_winner_promotes_it_whatever_the_statistics_and_keeps_the_results(kube, settings):
    kube.models["m"] = model_body()
    exp = experiment_body()
    run(kube, settings, exp, summary((0, 0), (0, 0)))
    exp["spec"] |= {"stopped": True, "winner": "treatment"}
    ctx = run(kube, settings, exp, summary((400, 40), (400, 41)))  # far from significant: the user decides
    assert exp["status"]["phase"] == "Stopped" and "decision" not in exp["status"]
    assert (exp["status"]["control"]["exposures"], exp["status"]["treatment"]["conversions"]) == (400, 41)
    assert exp["status"]["lastEvaluated"] and exp["status"]["concluded"]
    assert kube.models["m"]["status"]["activeVersion"] == "v2" and "experiment" not in kube.models["m"]["status"]
    assert kube.isvcs["m"]["spec"]["predictor"]["model"]["storageUri"].endswith("/v2/")
    assert [e.reason for e in ctx.events] == ["StoppedByUser"]
    assert "winner treatment (v2) promoted" in ctx.events[0].message


def test_stopping_with_the_serving_control_as_winner_keeps_it_and_its_rollback_target(kube, settings):
    body = model_body()
    body["status"]["previousVersion"] = "v0"
    kube.models["m"] = body
    exp = experiment_body()
    run(kube, settings, exp, summary((0, 0), (0, 0)))
    exp["spec"] |= {"stopped": True, "winner": "control"}
    ctx = run(kube, settings, exp, summary((10000, 1000), (10000, 1300)))
    status = kube.models["m"]["status"]
    assert (status["activeVersion"], status.get("previousVersion")) == ("v1", "v0")
    assert "experiment" not in status and "winner control (v1) is the active version" in ctx.events[0].message
    assert exp["status"]["treatment"]["exposures"] == 10000 and "decision" not in exp["status"]


def test_stopping_a_waiting_experiment_with_a_winner_promotes_nothing(kube, settings):
    kube.models["m"] = model_body(experiment={"name": "other", "assignment": "sticky", "control": "v1",
                                              "treatment": "v2", "trafficPercent": 50})
    other = claiming("other")
    exp = experiment_body()
    exp["spec"] |= {"stopped": True, "winner": "treatment"}
    ctx = run(kube, settings, exp, summary((0, 0), (0, 0)), other)
    assert kube.models["m"]["status"]["activeVersion"] == "v1"
    assert kube.models["m"]["status"]["experiment"]["name"] == "other"
    assert "not promoted: the experiment did not hold model m's traffic" in ctx.events[0].message


def test_experiment_holds_a_clear_winner_until_its_min_duration_has_passed(kube, settings):
    kube.models["m"] = model_body()
    exp = experiment_body()
    exp["spec"]["minDuration"] = "14d"
    run(kube, settings, exp, summary((0, 0), (0, 0)))
    run(kube, settings, exp, summary((10000, 1000), (10000, 1300)))
    running = next(c for c in exp["status"]["conditions"] if c["type"] == "Running")
    assert (exp["status"]["phase"], running["status"]) == ("Running", "True")
    assert "waiting for the minimum duration" in running["message"]
    assert kube.models["m"]["status"]["activeVersion"] == "v1"


def test_experiment_keeps_running_and_says_why_when_the_collector_is_down(kube, settings):
    kube.models["m"] = model_body()
    exp = experiment_body()
    run(kube, settings, exp, summary((0, 0), (0, 0)))

    def down(namespace, name, split):
        raise httpx.ConnectError("connection refused")

    run(kube, settings, exp, down)
    running = next(c for c in exp["status"]["conditions"] if c["type"] == "Running")
    assert (running["status"], running["reason"]) == ("True", "SummaryUnavailable")
    assert "connection refused" in running["message"]


@pytest.mark.parametrize(("assignment", "treatment", "counted_by_version"),
                         [("random", "v2", True), ("sticky", "v2", False), ("random", "rules", False)])
def test_experiment_asks_for_a_version_count_only_when_kserve_splits_the_traffic(
        kube, settings, assignment, treatment, counted_by_version):
    kube.kserve_mode("Knative")
    kube.models["m"] = model_body()
    exp = experiment_body(assignment=assignment, treatment=treatment)
    run(kube, settings, exp, summary((0, 0), (0, 0)))
    asked = []

    def fetch(namespace, name, split):
        asked.append(split)
        return summary((0, 0), (0, 0))(namespace, name, split)

    run(kube, settings, exp, fetch)
    expected = ServingSplit(service="m", control_version="v1", treatment_version=treatment, since=NOW)
    assert asked == [expected if counted_by_version else None]


def claiming(name):
    """An experiment that holds (or wants) the model: its status states its claim."""
    exp = experiment_body(name=name)
    exp["metadata"]["creationTimestamp"] = "2026-03-01T00:00:00Z"
    exp["status"] = {"claim": claim_for(ABExperimentSpec.model_validate(exp["spec"])).to_wire(),
                     "started": "2026-03-01T00:00:00Z"}
    return exp


def test_experiment_waits_when_another_one_holds_the_model_and_starts_when_it_ends(kube, settings):
    kube.models["m"] = model_body(experiment={"name": "other", "assignment": "sticky", "control": "v1",
                                              "treatment": "v2", "trafficPercent": 50})
    other = claiming("other")
    exp = experiment_body()
    run(kube, settings, exp, summary((0, 0), (0, 0)), other)
    assert exp["status"]["phase"] == "Pending" and exp["status"]["claim"]["trafficPercent"] == 50
    assert kube.models["m"]["status"]["experiment"]["name"] == "other"
    other["status"] |= {"claim": None, "winnerVersion": "v2"}  # the other one concluded: v2 won
    run(kube, settings, exp, summary((0, 0), (0, 0)), other)
    status = kube.models["m"]["status"]
    assert (status["experiment"]["name"], status["activeVersion"]) == ("x", "v2")
    assert exp["status"]["phase"] == "Running"


def test_model_serves_the_oldest_claim_first_when_two_experiments_want_it(kube, settings):
    kube.models["m"] = model_body()
    young, old = claiming("young"), claiming("old")
    young["metadata"]["creationTimestamp"] = "2026-03-01T00:00:01Z"
    model_pass(kube, settings, young, old)
    assert kube.models["m"]["status"]["experiment"]["name"] == "old"


def test_deleting_the_experiment_lets_the_model_go_without_promoting(kube, settings):
    kube.models["m"] = model_body()
    exp = experiment_body()
    run(kube, settings, exp, summary((0, 0), (0, 0)))
    assert kube.models["m"]["status"]["experiment"]["name"] == "x"
    ctx = model_pass(kube, settings)  # gone from the index
    assert "experiment" not in kube.models["m"]["status"] and kube.models["m"]["status"]["activeVersion"] == "v1"
    assert [e.reason for e in ctx.events] == ["ExperimentReleased"]
    assert "LEADSCORE_AB_EXPERIMENT" not in str(kube.isvcs["m"]["spec"])


def test_model_does_not_serve_a_claim_that_became_impossible(kube, settings):
    kube.models["m"] = model_body(pinned="v1")
    model_pass(kube, settings, claiming("x"))
    assert "experiment" not in kube.models["m"]["status"]


def test_experiment_is_pending_when_its_model_does_not_exist(kube, settings):
    exp = experiment_body()
    run(kube, settings, exp, summary((0, 0), (0, 0)))
    running = next(c for c in exp["status"]["conditions"] if c["type"] == "Running")
    assert (running["reason"], exp["status"]["phase"]) == ("ModelNotFound", "Pending")


@pytest.mark.parametrize(("model_kwargs", "spec_changes", "reason"), [
    ({"pinned": "v1"}, {}, "ModelPinned"),
    ({}, {"treatment": {"version": "v7"}}, "ArmVersionMissing"),
    ({"active": "v2"}, {"assignment": "random"}, "ControlNotServing"),
])
def test_arms_problem_names_the_reason_when_the_split_is_impossible(model_kwargs, spec_changes, reason):
    from leadscore.api.leadscoringmodel import LeadScoringModelStatus

    body = model_body(**model_kwargs)
    spec = ABExperimentSpec.model_validate({**experiment_body()["spec"], **spec_changes})
    found = arms_problem("m", claim_for(spec), LeadScoringModelSpec.model_validate(body["spec"]),
                         LeadScoringModelStatus.model_validate(body["status"]), "Knative")
    assert found is not None and found[0] == reason


@pytest.mark.parametrize("isvc_annotation", [None, "RawDeployment"])
def test_random_experiment_is_refused_pointing_to_sticky_when_kserve_runs_in_standard_mode(
        kube, settings, isvc_annotation):
    kube.kserve_mode("Knative" if isvc_annotation else "Standard")
    kube.models["m"] = model_body()
    if isvc_annotation:  # the InferenceService's own annotation wins over the cluster default
        kube.isvcs["m"] = {"metadata": {"name": "m",
                                        "annotations": {"serving.kserve.io/deploymentMode": isvc_annotation}}}
    exp = experiment_body(assignment="random")
    run(kube, settings, exp, summary((0, 0), (0, 0)))
    running = next(c for c in exp["status"]["conditions"] if c["type"] == "Running")
    assert (running["status"], running["reason"]) == ("False", "RandomSplitUnavailable")
    assert "assignment: sticky" in running["message"] and "Standard mode" in running["message"]
    assert "experiment" not in kube.models["m"]["status"]


def test_random_experiment_splits_through_kserve_when_it_runs_in_knative_mode(kube, settings):
    kube.kserve_mode("Serverless")  # KServe's legacy name for Knative
    kube.models["m"] = model_body()
    exp = experiment_body(assignment="random")
    run(kube, settings, exp, summary((0, 0), (0, 0)))
    assert kube.isvcs["m"]["spec"]["predictor"]["canaryTrafficPercent"] == 50
    assert exp["status"]["phase"] == "Running"


def test_arms_problem_allows_the_rules_baseline_when_assignment_is_random():
    from leadscore.api.leadscoringmodel import LeadScoringModelStatus

    body = model_body()
    spec = ABExperimentSpec.model_validate({**experiment_body(assignment="random")["spec"],
                                            "control": {"version": "rules"}})
    assert arms_problem("m", claim_for(spec), LeadScoringModelSpec.model_validate(body["spec"]),
                        LeadScoringModelStatus.model_validate(body["status"]), "Standard") is None

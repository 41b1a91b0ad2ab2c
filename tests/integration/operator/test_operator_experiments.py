"""ABExperiment reconciled by the real operator on a cluster running the real KServe controller
(Standard mode): claims the model, splits traffic, reads the collector's summary, decides with
leadscore.experiments, promotes or rolls back, releases; KServe rolls its Deployment each time.
Random assignment of two versions is refused here (Standard mode cannot split; the Knative
path is unit-tested: tests/unit/operator)."""

from __future__ import annotations

import pytest
from operator_harness import LSM, condition, model, retrain, trained

from support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.kserve]

ABX = "abexperiments"


def experiment(name, control, treatment, assignment="sticky", percent=50):
    return {"apiVersion": "leadscoring.io/v1alpha1", "kind": "ABExperiment", "metadata": {"name": name},
            "spec": {"modelRef": "m", "control": {"version": control}, "treatment": {"version": treatment},
                     "assignment": assignment, "trafficPercent": percent, "minSamplesPerArm": 500}}


def summary(namespace, name, control, treatment):
    return {"namespace": namespace, "experiment": name,
            "arms": {"control": {"exposures": control[0], "conversions": control[1]},
                     "treatment": {"exposures": treatment[0], "conversions": treatment[1]}}}


def two_versions(cluster):
    """v1 serving, v2 trained and recorded but not rolled out (autoRollout off)."""
    cluster.create(LSM, model())
    trained(cluster, "m", "v1", auc=0.80)
    cluster.patch(LSM, "m", {"spec": {"promotion": {"autoRollout": False}}})
    retrain(cluster, "m", "1")
    trained(cluster, "m", "v2", auc=0.82)
    assert cluster.status(LSM, "m")["activeVersion"] == "v1"


def model_env(cluster):
    isvc = cluster.isvc("m")
    return {e["name"]: e.get("value") for e in isvc["spec"]["predictor"]["model"].get("env", [])}


def test_sticky_experiment_promotes_the_winner_when_the_collector_shows_a_lift(cluster, collector, operator):
    two_versions(cluster)
    collector.summaries[(cluster.namespace, "x")] = summary(cluster.namespace, "x", (100, 10), (100, 13))
    cluster.create(ABX, experiment("x", "v1", "v2"))
    eventually(lambda: cluster.status(ABX, "x").get("phase") == "Running", what="experiment Running")
    env = eventually(lambda: (e := model_env(cluster)).get("LEADSCORE_AB_EXPERIMENT") == "x" and e,
                     what="predictor split configured")
    assert env["LEADSCORE_AB_CONTROL_URI"] == "/mnt/models"
    assert env["LEADSCORE_AB_TREATMENT_URI"].endswith("/m/v2/")
    assert env["LEADSCORE_AB_TREATMENT_PERCENT"] == "50"
    assert cluster.isvc("m")["metadata"]["annotations"]["leadscoring.io/experiment"] == "x"
    eventually(lambda: "collecting data" in (cluster.status(ABX, "x").get("decisionReason") or ""),
               what="too little data yet")
    assert cluster.status(ABX, "x")["control"]["exposures"] == 100
    collector.summaries[(cluster.namespace, "x")] = summary(cluster.namespace, "x", (10000, 1000),
                                                            (10000, 1300))
    status = eventually(lambda: (s := cluster.status(ABX, "x")).get("phase") == "Concluded" and s,
                        what="experiment Concluded", timeout=60)
    assert status["decision"] == "promote"
    assert status["pValue"] < 0.05 and status["liftLower"] > 0
    assert (status["control"]["version"], status["treatment"]["version"]) == ("v1", "v2")
    eventually(lambda: cluster.status(LSM, "m").get("activeVersion") == "v2", what="v2 promoted")
    eventually(lambda: "LEADSCORE_AB_EXPERIMENT" not in model_env(cluster)
               and cluster.isvc("m")["spec"]["predictor"]["model"]["storageUri"].endswith("/m/v2/"),
               what="ISVC serves v2 alone")
    assert "experiment" not in cluster.status(LSM, "m")
    eventually(lambda: deployment_serves(cluster, "m", "/m/v2/", ab=False), what="KServe rolled out v2 alone")


def writers(obj, *, subresource="", field="f:spec"):
    """Field managers that own ``field`` of ``obj`` (of its main resource or a subresource)."""
    return {e["manager"] for e in obj["metadata"].get("managedFields", [])
            if e.get("subresource", "") == subresource and field in e.get("fieldsV1", {})}


def test_the_models_handlers_alone_write_the_model_and_its_isvc_when_an_experiment_promotes(
        cluster, collector, operator):
    """The experiment states its claim and its winner on its own status; the model's handlers (kopf's
    field manager) serve and promote it, and server-side apply it to the InferenceService."""
    from leadscore.operator.kube import FIELD_MANAGER

    two_versions(cluster)
    collector.summaries[(cluster.namespace, "o")] = summary(cluster.namespace, "o", (300, 30), (300, 33))
    cluster.create(ABX, experiment("o", "v1", "v2", percent=40))
    eventually(lambda: cluster.status(ABX, "o").get("phase") == "Running", what="experiment Running")
    claim = cluster.status(ABX, "o")["claim"]
    assert claim == {"assignment": "sticky", "control": "v1", "treatment": "v2", "trafficPercent": 40}
    assert cluster.status(LSM, "m")["experiment"] == {**claim, "name": "o"}
    assert model_env(cluster)["LEADSCORE_AB_TREATMENT_PERCENT"] == "40"
    cluster.patch(ABX, "o", {"spec": {"stopped": True, "winner": "treatment"}})
    eventually(lambda: cluster.status(LSM, "m").get("activeVersion") == "v2", what="v2 promoted")
    status = cluster.status(ABX, "o")
    assert "claim" not in status and status["winnerVersion"] == "v2"
    eventually(lambda: cluster.isvc("m")["spec"]["predictor"]["model"]["storageUri"].endswith("/m/v2/")
               and "LEADSCORE_AB_EXPERIMENT" not in model_env(cluster), what="ISVC serves v2 alone")
    assert writers(cluster.get(LSM, "m"), subresource="status", field="f:status") == {"kopf"}
    isvc = cluster.isvc("m")
    assert writers(isvc) == {FIELD_MANAGER}
    assert writers(isvc, field="f:metadata") >= {FIELD_MANAGER}


def deployment_serves(cluster, name, suffix, *, ab):
    """KServe's predictor Deployment downloads ``suffix``'s artifact, with or without A/B arms."""
    from kubernetes import client

    template = client.AppsV1Api(cluster.api).read_namespaced_deployment(f"{name}-predictor",
                                                                         cluster.namespace).spec.template
    source = template.metadata.annotations.get("internal.serving.kserve.io/storage-initializer-sourceuri", "")
    env = {e.name for c in template.spec.containers for e in c.env or ()}
    return source.endswith(suffix) and ("LEADSCORE_AB_EXPERIMENT" in env) == ab


def test_sticky_experiment_rolls_back_when_the_treatment_converts_worse(cluster, collector, operator):
    two_versions(cluster)
    cluster.create(ABX, experiment("r", "v1", "v2", percent=20))
    eventually(lambda: deployment_serves(cluster, "m", "/m/v1/", ab=True), what="KServe runs both arms")
    # 80/20 split as configured: 13% vs 10% conversion
    collector.summaries[(cluster.namespace, "r")] = summary(cluster.namespace, "r", (16000, 2080),
                                                            (4000, 400))
    status = eventually(lambda: (s := cluster.status(ABX, "r")).get("phase") == "Concluded" and s,
                        what="experiment Concluded", timeout=60)
    assert status["decision"] == "rollback"
    eventually(lambda: deployment_serves(cluster, "m", "/m/v1/", ab=False), what="KServe back on the control alone")
    assert cluster.status(LSM, "m")["activeVersion"] == "v1"


def test_stopping_with_a_winner_promotes_it_and_keeps_the_results_in_status(cluster, collector, operator):
    two_versions(cluster)
    collector.summaries[(cluster.namespace, "w")] = summary(cluster.namespace, "w", (300, 30), (300, 33))
    cluster.create(ABX, experiment("w", "v1", "v2"))
    eventually(lambda: model_env(cluster).get("LEADSCORE_AB_EXPERIMENT") == "w", what="predictor split configured")
    cluster.patch(ABX, "w", {"spec": {"stopped": True, "winner": "treatment"}})
    status = eventually(lambda: (s := cluster.status(ABX, "w")).get("phase") == "Stopped" and s,
                        what="experiment Stopped", timeout=60)
    assert (status["control"]["exposures"], status["treatment"]["conversions"]) == (300, 33)
    assert "decision" not in status and status["concluded"]
    message = condition(cluster, "w", "Running", ABX)["message"]  # promoted, or found promoted by a racing pass
    assert "winner treatment (v2)" in message and "not promoted" not in message
    eventually(lambda: cluster.status(LSM, "m").get("activeVersion") == "v2", what="v2 promoted")
    eventually(lambda: deployment_serves(cluster, "m", "/m/v2/", ab=False), what="KServe rolled out v2 alone")
    assert cluster.get(ABX, "w") is not None  # stopped, not deleted


def test_random_experiment_is_refused_pointing_to_sticky_when_kserve_runs_in_standard_mode(
        cluster, collector, operator):
    two_versions(cluster)
    isvc = cluster.isvc("m")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"  # KServe's webhook
    cluster.create(ABX, experiment("r", "v1", "v2", assignment="random", percent=20))
    running = eventually(lambda: (c := condition(cluster, "r", "Running", ABX)) and c, what="condition")
    assert (running["status"], running["reason"]) == ("False", "RandomSplitUnavailable")
    assert "Standard mode" in running["message"] and "assignment: sticky" in running["message"]
    assert "experiment" not in cluster.status(LSM, "m")
    assert cluster.isvc("m")["spec"] == isvc["spec"]  # nothing was split, nothing pretends to be


def test_second_experiment_waits_and_deleting_the_first_restores_the_control(cluster, collector, operator):
    two_versions(cluster)
    cluster.create(ABX, experiment("first", "v1", "v2", percent=30))
    eventually(lambda: model_env(cluster).get("LEADSCORE_AB_EXPERIMENT") == "first", what="first splits")
    cluster.create(ABX, experiment("second", "v1", "v2", percent=10))
    running = eventually(lambda: (c := condition(cluster, "second", "Running", ABX)) and c,
                         what="second experiment's condition")
    assert (running["status"], running["reason"]) == ("False", "AnotherExperimentRunning")
    assert "first" in running["message"]
    assert cluster.status(ABX, "second")["phase"] == "Pending"
    cluster.delete(ABX, "first")
    eventually(lambda: cluster.get(ABX, "first") is None, what="first experiment deleted (finalizer ran)")
    # the second one now claims the model
    env = eventually(lambda: (e := model_env(cluster)).get("LEADSCORE_AB_EXPERIMENT") == "second" and e,
                     what="second experiment takes over")
    assert env["LEADSCORE_AB_TREATMENT_PERCENT"] == "10"


def test_experiment_is_stopped_naming_versions_when_an_arm_does_not_exist(cluster, collector, operator):
    cluster.create(LSM, model())
    trained(cluster, "m", "v1")
    cluster.create(ABX, experiment("bad", "v1", "v9"))
    running = eventually(lambda: (c := condition(cluster, "bad", "Running", ABX)) and c, what="condition")
    assert running["reason"] == "ArmVersionMissing"
    assert "treatment.version v9 is not a version of model m (available: v1)" in running["message"]
    assert cluster.status(ABX, "bad")["phase"] == "Stopped"


def test_sample_ratio_mismatch_stops_the_experiment_and_restores_the_control(cluster, collector, operator):
    two_versions(cluster)
    # configured 50/50, observed 2:1 -> the split is broken, results are not trusted
    collector.summaries[(cluster.namespace, "s")] = summary(cluster.namespace, "s", (10000, 1000),
                                                            (5000, 800))
    cluster.create(ABX, experiment("s", "v1", "v2"))
    status = eventually(lambda: (s := cluster.status(ABX, "s")).get("phase") == "Stopped" and s,
                        what="experiment Stopped", timeout=60)
    running = next(c for c in status["conditions"] if c["type"] == "Running")
    assert running["reason"] == "ExperimentHalted" and "ratio" in running["message"].lower()
    assert status["srmPValue"] < 0.001 and status.get("decision") is None
    eventually(lambda: "LEADSCORE_AB_EXPERIMENT" not in model_env(cluster), what="control restored")
    assert cluster.status(LSM, "m")["activeVersion"] == "v1"


def covariate_arm(exposures, conversions, mean=0.104, variance=0.01, covariance=0.0245):
    """An arm whose exposures all carry the control model's score, correlated with conversion (R² ≈ 0.64)."""
    rate = conversions / exposures
    return {"exposures": exposures, "conversions": conversions, "covariate_count": exposures,
            "covariate_sum": exposures * mean, "covariate_sum_sq": exposures * (variance + mean * mean),
            "covariate_conversion_sum": exposures * (covariance + mean * rate)}


def test_operator_decides_with_the_adjusted_statistics_when_scores_are_logged(cluster, collector, operator):
    from datetime import timedelta

    from leadscore.api.summary import ExperimentSummary
    from leadscore.experiments import ExperimentSettings, decide

    two_versions(cluster)
    adjusted = {"namespace": cluster.namespace, "experiment": "c",
                "arms": {"control": covariate_arm(20000, 2000), "treatment": covariate_arm(20000, 2200)}}
    # the same counts without the adjustment are not yet significant: the raw test would keep waiting
    raw = decide(ExperimentSummary.model_validate(adjusted),
                 ExperimentSettings(variance_reduction="off", min_samples_per_arm=500), elapsed=timedelta(days=1))
    assert raw.decision == "continue"
    collector.summaries[(cluster.namespace, "c")] = adjusted
    cluster.create(ABX, experiment("c", "v1", "v2"))
    status = eventually(lambda: (s := cluster.status(ABX, "c")).get("phase") == "Concluded" and s,
                        what="experiment Concluded", timeout=90)
    assert status["decision"] == "promote"
    assert status["varianceReduction"] == "applied"
    assert status["varianceReductionShare"] == pytest.approx(0.64, abs=0.01)
    assert status["adjustedLift"] == pytest.approx(0.10, abs=1e-6)
    assert 0 < status["adjustedLiftLower"] < 0.10 < status["adjustedLiftUpper"]
    assert "adjusted for the control model's score" in status["decisionReason"]


def test_operator_decides_a_planned_experiment_at_its_alpha_spending_boundary(cluster, collector, operator):
    two_versions(cluster)
    body = experiment("g", "v1", "v2")
    body["spec"] |= {"alphaSpending": "obrien-fleming", "expectedSamplesPerArm": 40000, "varianceReduction": "off"}
    collector.summaries[(cluster.namespace, "g")] = summary(cluster.namespace, "g", (4000, 400), (4000, 440))
    cluster.create(ABX, body)
    reason = eventually(lambda: "group-sequential test at 10% of its planned maximum"
                        in ((s := cluster.status(ABX, "g")).get("decisionReason") or "") and s["decisionReason"],
                        what="planned test waiting below its boundary", timeout=60)
    assert "repeated p" in reason
    collector.summaries[(cluster.namespace, "g")] = summary(cluster.namespace, "g", (20000, 2000), (20000, 2300))
    status = eventually(lambda: (s := cluster.status(ABX, "g")).get("phase") == "Concluded" and s,
                        what="experiment Concluded", timeout=90)
    assert status["decision"] == "promote"
    assert status["pValue"] <= 0.05
    assert status["varianceReduction"] == "off"

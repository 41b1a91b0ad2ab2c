"""The generated CRDs on a real kube-apiserver: examples are admitted with defaults applied,
bad resources are refused with a message naming the field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

pytestmark = [pytest.mark.integration, pytest.mark.kserve]

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "manifests" / "examples").glob("*/*.yaml"))
PLURALS = {"LeadScoringModel": "leadscoringmodels", "ABExperiment": "abexperiments"}

MODEL = {"apiVersion": "leadscoring.io/v1alpha1", "kind": "LeadScoringModel",
         "metadata": {"name": "m"},
         "spec": {"vertical": "pc", "dataset": {"uri": "s3://leads/pc.parquet"}}}
EXPERIMENT = {"apiVersion": "leadscoring.io/v1alpha1", "kind": "ABExperiment",
              "metadata": {"name": "x"},
              "spec": {"modelRef": "m", "control": {"version": "v1"}, "treatment": {"version": "v2"}}}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_example_is_admitted_when_applied(cluster, path):
    body = yaml.safe_load(path.read_text())
    created = cluster.create(PLURALS[body["kind"]], body)
    assert created["metadata"]["name"] == body["metadata"]["name"]
    assert created["spec"]["retention" if body["kind"] == "LeadScoringModel" else "assignment"]


def test_defaults_are_filled_by_the_apiserver_when_fields_are_left_out(cluster):
    created = cluster.create("leadscoringmodels", copy.deepcopy(MODEL))
    spec = created["spec"]
    assert spec["training"]["algorithms"] == ["lr", "xgboost", "lightgbm", "catboost"]
    assert spec["promotion"] == {"minRocAuc": 0.6, "minGain": 0.0, "autoRollout": True}
    assert spec["scoring"]["high"] == {"topPercent": 5, "action": "immediate_assignment", "sla": "30m",
                                       "priority": "P0"}
    assert (spec["scoring"]["veryLowAction"], spec["scoring"]["veryLowPriority"]) == ("archive", "P3")
    assert spec["retention"] == {"keepVersions": 5}
    assert spec["dataset"]["textColumns"] == [] and spec["dataset"]["textMaxFeatures"] == 50
    assert "schedule" not in spec


def test_training_params_fractions_and_new_families_are_stored_when_applied(cluster):
    body = _with(_with(MODEL, "metadata.name", "knobs"), "spec.training", {
        "algorithms": ["lr", "randomforest", "mlp"], "validationFraction": 0.4, "testFraction": 0.2,
        "params": {"randomforest": {"max_depth": {"low": 4, "high": 8}}, "mlp": {"width": {"value": 32}}}})
    training = cluster.create("leadscoringmodels", body)["spec"]["training"]
    assert training["algorithms"] == ["lr", "randomforest", "mlp"]
    assert training["params"] == {"randomforest": {"max_depth": {"low": 4, "high": 8}}, "mlp": {"width": {"value": 32}}}
    # 0.4 + 0.2 is 0.6000000000000001 in floating point: still admitted
    assert (training["validationFraction"], training["testFraction"]) == (0.4, 0.2)
    defaults = cluster.create("leadscoringmodels", _with(MODEL, "metadata.name", "knob-defaults"))["spec"]["training"]
    assert (defaults["validationFraction"], defaults["testFraction"], defaults["params"]) == (0.15, 0.15, {})


def test_text_columns_are_stored_and_reach_the_trainer_when_applied(cluster):
    from leadscore.api.leadscoringmodel import LeadScoringModelSpec
    from leadscore.operator.builders import trainer_args

    body = _with(_with(MODEL, "spec.dataset.textColumns", ["inquiry", "notes"]), "spec.dataset.textMaxFeatures", 80)
    stored = cluster.create("leadscoringmodels", body)["spec"]
    args = trainer_args("ns", "m", "v1", "s3://models/ns/m/v1/", LeadScoringModelSpec.model_validate(stored))
    assert args[args.index("--text-col"):][:6] == ["--text-col", "inquiry", "--text-col", "notes",
                                                   "--text-max-features", "80"]


def _with(body, path, value):
    body = copy.deepcopy(body)
    *parents, leaf = path.split(".")
    node = body
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return body


STOPPED_WITH_WINNER = _with(_with(EXPERIMENT, "spec.stopped", True), "spec.winner", "treatment")

BAD = [
    (MODEL, "spec.vertical", "auto", "spec.vertical"),
    (MODEL, "spec.training.gpu", 9, "spec.training.gpu"),
    (MODEL, "spec.dataset.textMaxFeatures", 0, "spec.dataset.textMaxFeatures"),
    (MODEL, "spec.dataset.textColumns", ["notes", "notes"], "spec.dataset.textColumns[1]"),
    (MODEL, "spec.training.algorithms", ["lr", "svm"], "spec.training.algorithms[1]"),
    (MODEL, "spec.schedule", {"cron": "every day"}, "spec.schedule.cron"),
    (MODEL, "spec.serving.canaryTrafficPercent", 120, "spec.serving.canaryTrafficPercent"),
    (MODEL, "spec.serving.pinnedVersion", "latest", "spec.serving.pinnedVersion"),
    (MODEL, "spec.scoring", {"high": {"minScore": 80, "action": "a"}, "medium": {"minScore": 90, "action": "b"},
                             "low": {"minScore": 40, "action": "c"}}, "tier thresholds must decrease"),
    (MODEL, "spec.scoring.medium", {"topPercent": 3, "action": "x"}, "tier shares must grow"),
    (MODEL, "spec.scoring.high", {"minScore": 80, "topPercent": 5, "action": "x"},
     "spec.scoring.high: Invalid value: set exactly one of minScore"),
    (MODEL, "spec.scoring.high", {"minScore": 80, "action": "x"},
     "tiers must all set minScore, all topPercent or all leadsPerDay"),
    (MODEL, "spec.scoring.low.topPercent", 120, "spec.scoring.low.topPercent"),
    (MODEL, "spec.scoring.high.sla", "soon", "spec.scoring.high.sla"),
    (MODEL, "spec.scoring", {"high": {"leadsPerDay": 40, "action": "a"}, "medium": {"leadsPerDay": 100, "action": "b"},
                             "low": {"leadsPerDay": 300, "action": "c"}}, "need expectedDailyLeads"),
    (MODEL, "spec.scoring", {"high": {"leadsPerDay": 40, "action": "a"}, "medium": {"leadsPerDay": 100, "action": "b"},
                             "low": {"leadsPerDay": 300, "action": "c"}, "expectedDailyLeads": 400},
     "add up to more than expectedDailyLeads"),
    (MODEL, "spec.scoring.medium.priority", "urgent", "spec.scoring.medium.priority"),
    (MODEL, "spec.scoring.veryLowSla", "4 hours", "spec.scoring.veryLowSla"),
    (MODEL, "spec.scoring.high.minConfidence", 1.5, "spec.scoring.high.minConfidence"),
    (MODEL, "spec.scoring.medium.minConfidence", -0.1, "spec.scoring.medium.minConfidence"),
    (MODEL, "spec.scoring.high.minConfidence", "high", "spec.scoring.high.minConfidence"),
    (MODEL, "spec.training.params", {"svm": {"C": {"value": 1}}}, "params: keys must be algorithms"),
    (MODEL, "spec.training.params", {"lightgbm": {"max_leaves": {"value": 8}}},
     "params.lightgbm: unknown parameter; lightgbm takes num_leaves"),
    (MODEL, "spec.training.params", {"lr": {"C": {"value": 1, "low": 0.1}}},
     "set value, or low and/or high (search bounds), not both"),
    (MODEL, "spec.training.params", {"mlp": {"alpha": {"low": 0.1, "high": 0.01}}}, "low must not exceed high"),
    (MODEL, "spec.training.validationFraction", 0.5, "spec.training.validationFraction"),
    (MODEL, "spec.training.testFraction", 0.01, "spec.training.testFraction"),
    (MODEL, "spec.training", {"validationFraction": 0.35, "testFraction": 0.3},
     "validationFraction + testFraction must not exceed 0.6"),
    (MODEL, "spec.training.cvFolds", 1, "cvFolds must be 0 (off) or at least 2"),
    (MODEL, "spec.training.cvFolds", 21, "spec.training.cvFolds"),
    (MODEL, "metadata.name", "m" * 45, "metadata.name must be a DNS-1035 label of at most 40"),
    (MODEL, "spec.dataset.targets", {"longView": 1.5}, "spec.dataset.targets.longView"),
    (MODEL, "spec.dataset.targets", {"quickArchiveSeconds": 200},
     "spec.dataset.targets: Invalid value: expected quickArchiveSeconds"),
    (EXPERIMENT, "spec.treatment", {"version": "v1"}, "spec.treatment.version"),
    (EXPERIMENT, "spec.trafficPercent", 0, "spec.trafficPercent"),
    (EXPERIMENT, "spec.assignment", "roundrobin", "spec.assignment"),
    (EXPERIMENT, "spec.control", {"version": "latest"}, "spec.control.version"),
    (EXPERIMENT, "spec.varianceReduction", "always", "spec.varianceReduction"),
    (EXPERIMENT, "spec.expectedSamplesPerArm", 5, "spec.expectedSamplesPerArm"),
    (EXPERIMENT, "spec.alphaSpending", "haybittle", "spec.alphaSpending"),
    (EXPERIMENT, "spec.winner", "v2", "spec.winner"),
    (EXPERIMENT, "spec.winner", "treatment", "spec.winner: Invalid value: winner is chosen when stopping"),
    (STOPPED_WITH_WINNER, "spec.treatment", {"version": "rules"}, "spec.winner: Invalid value: winner "
                                                                  "cannot be the rules arm"),
]


@pytest.mark.parametrize(("base", "path", "value", "named"), BAD,
                         ids=[f"{b['kind']}:{p}" for b, p, _, _ in BAD])
def test_bad_resource_is_refused_naming_the_field_when_applied(cluster, base, path, value, named):
    with pytest.raises(ApiException) as info:
        cluster.create(PLURALS[base["kind"]], _with(base, path, value))
    assert info.value.status == 422
    assert named in info.value.body, info.value.body


def test_a_minimum_confidence_is_stored_and_travels_to_the_predictor_when_applied(cluster):
    """Seed 002's rule: high needs confidence >= 0.8, else the lead gets medium's action."""
    from leadscore.api.leadscoringmodel import LeadScoringModelSpec

    high = {"topPercent": 5, "action": "immediate_assignment", "minConfidence": 0.8}
    created = cluster.create("leadscoringmodels", _with(MODEL, "spec.scoring.high", high))
    assert created["spec"]["scoring"]["high"] == high
    spec = LeadScoringModelSpec.model_validate(created["spec"])
    assert spec.scoring.high.min_confidence == 0.8
    assert '"minConfidence":0.8' in spec.scoring.to_json()


def test_graded_targets_get_seed_001s_defaults_and_travel_to_the_trainer_when_applied(cluster):
    """targets: {} asks for graded targets with every default; the apiserver fills them in."""
    from leadscore.api.feedback import TargetsSpec
    from leadscore.api.leadscoringmodel import LeadScoringModelSpec

    created = cluster.create("leadscoringmodels", _with(MODEL, "spec.dataset.targets", {"contactAttempt": 0.65}))
    targets = created["spec"]["dataset"]["targets"]
    assert (targets["conversion"], targets["successfulContact"], targets["contactAttempt"]) == (1, 0.9, 0.65)
    assert (targets["longViewSeconds"], targets["quickArchiveSeconds"]) == (300, 30)
    spec = LeadScoringModelSpec.model_validate(created["spec"])
    assert spec.dataset.targets == TargetsSpec(contact_attempt=0.65)
    plain = cluster.create("leadscoringmodels", _with(MODEL, "metadata.name", "plain"))
    assert "targets" not in plain["spec"]["dataset"]


def test_variance_reduction_defaults_to_auto(cluster):
    created = cluster.create("abexperiments", copy.deepcopy(EXPERIMENT))
    assert created["spec"]["varianceReduction"] == "auto"
    assert "expectedSamplesPerArm" not in created["spec"]


def test_alpha_spending_is_admitted_only_for_a_sequential_conversion_experiment(cluster):
    planned = _with(EXPERIMENT, "spec.alphaSpending", "pocock")
    with pytest.raises(ApiException) as info:
        cluster.create("abexperiments", _with(planned, "spec.sequential", False))
    assert "alphaSpending needs sequential: true and metric: conversion" in info.value.body
    assert cluster.create("abexperiments", planned)["spec"]["alphaSpending"] == "pocock"


def test_control_equal_to_treatment_is_refused_with_the_rule_message_when_applied(cluster):
    with pytest.raises(ApiException) as info:
        cluster.create("abexperiments", _with(EXPERIMENT, "spec.treatment", {"version": "v1"}))
    assert "control and treatment must be different versions" in info.value.body


def test_stopping_with_a_winner_is_admitted_on_a_running_experiment(cluster):
    cluster.create("abexperiments", copy.deepcopy(EXPERIMENT))
    patched = cluster.patch("abexperiments", "x", {"spec": {"stopped": True, "winner": "control"}})
    assert (patched["spec"]["stopped"], patched["spec"]["winner"]) == (True, "control")


def test_model_ref_cannot_change_when_experiment_exists(cluster):
    cluster.create("abexperiments", copy.deepcopy(EXPERIMENT))
    with pytest.raises(ApiException) as info:
        cluster.patch("abexperiments", "x", {"spec": {"modelRef": "other"}})
    assert "modelRef is immutable" in info.value.body


def test_printer_columns_and_short_names_are_served_when_installed(cluster):
    from kubernetes import client

    ext = client.ApiextensionsV1Api(cluster.api)
    crd = ext.read_custom_resource_definition("leadscoringmodels.leadscoring.io")
    assert crd.spec.names.short_names == ["lsm"]
    columns = [c.name for c in crd.spec.versions[0].additional_printer_columns]
    assert columns[:4] == ["Phase", "Active", "Serving", "AUC"]

"""The CR models parse what users write and refuse what they must not."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leadscore.api.abexperiment import ABExperimentSpec
from leadscore.api.leadscoringmodel import LeadScoringModelSpec, LeadScoringModelStatus

MINIMAL = {"vertical": "pc", "dataset": {"uri": "s3://leads/pc/train.parquet"}}


def test_model_spec_fills_defaults_when_only_required_fields_given():
    spec = LeadScoringModelSpec.model_validate(MINIMAL)
    assert spec.training.algorithms == ["lr", "xgboost", "lightgbm", "catboost"]
    assert spec.training.gpu == 0
    assert spec.promotion.min_roc_auc == 0.6
    tiers = spec.scoring
    assert (tiers.high.top_percent, tiers.medium.top_percent, tiers.low.top_percent) == (5, 20, 50)
    assert spec.retention.keep_versions == 5


def test_model_spec_accepts_camel_case_and_snake_case_when_parsing():
    camel = LeadScoringModelSpec.model_validate({**MINIMAL, "serving": {"canaryTrafficPercent": 20}})
    snake = LeadScoringModelSpec.model_validate({**MINIMAL, "serving": {"canary_traffic_percent": 20}})
    assert camel.serving.canary_traffic_percent == snake.serving.canary_traffic_percent == 20
    assert camel.to_wire()["serving"]["canaryTrafficPercent"] == 20


@pytest.mark.parametrize(("patch", "field"), [
    ({"vertical": "auto"}, "vertical"),
    ({"training": {"algorithms": ["svm"]}}, "training.algorithms.0"),
    ({"training": {"gpu": 9}}, "training.gpu"),
    # the trainer's --trials starts at 1 (its first trial is the defaults): the CRD said 0 was fine
    ({"training": {"trials": 0}}, "training.trials"),
    ({"serving": {"canaryTrafficPercent": 101}}, "serving.canaryTrafficPercent"),
    ({"serving": {"pinnedVersion": "latest"}}, "serving.pinnedVersion"),
    ({"schedule": {"cron": "every day"}}, "schedule.cron"),
    ({"dataset": {"uri": "http://example.com/x.csv"}}, "dataset.uri"),
    ({"training": {"unknown": 1}}, "training.unknown"),
    ({"training": {"params": {"svm": {"C": {"value": 1}}}}}, "training.params"),
    ({"training": {"params": {"lightgbm": {"max_leaves": {"value": 8}}}}}, "training.params"),
    ({"training": {"params": {"lightgbm": {"num_leaves": {"value": 8, "high": 9}}}}},
     "training.params.lightgbm.num_leaves"),
    ({"training": {"params": {"lightgbm": {"num_leaves": {"low": 9, "high": 8}}}}},
     "training.params.lightgbm.num_leaves"),
    ({"training": {"validationFraction": 0.5}}, "training.validationFraction"),
    ({"training": {"validationFraction": 0.35, "testFraction": 0.3}}, "training"),
])
def test_model_spec_names_the_field_when_a_value_is_bad(patch, field):
    with pytest.raises(ValidationError) as info:
        LeadScoringModelSpec.model_validate({**MINIMAL, **patch})
    assert field in {".".join(str(p) for p in error["loc"]) for error in info.value.errors()}


def test_model_status_round_trips_through_the_wire_form_when_written_by_the_operator():
    status = LeadScoringModelStatus.model_validate({
        "activeVersion": "v2",
        "versions": [{"version": "v2", "artifactUri": "s3://b/ns/m/v2/", "jobName": "m-train-v2",
                      "gate": "Passed", "metrics": {"roc_auc": 0.81}}],
    })
    assert LeadScoringModelStatus.model_validate(status.to_wire()) == status
    assert status.to_wire()["versions"][0]["artifactUri"] == "s3://b/ns/m/v2/"


def test_experiment_spec_defaults_to_a_sticky_half_split_when_minimal():
    spec = ABExperimentSpec.model_validate({"modelRef": "pc", "control": {"version": "v1"},
                                            "treatment": {"version": "v2"}})
    assert (spec.assignment, spec.traffic_percent, spec.on_success) == ("sticky", 50, "promote")


@pytest.mark.parametrize(("patch", "field"), [
    ({"trafficPercent": 0}, "trafficPercent"),
    ({"assignment": "roundrobin"}, "assignment"),
    ({"control": {"version": "latest"}}, "control.version"),
    ({"alpha": 0}, "alpha"),
    ({"maxDuration": "two weeks"}, "maxDuration"),
    ({"minDuration": "1 week"}, "minDuration"),
])
def test_experiment_spec_names_the_field_when_a_value_is_bad(patch, field):
    body = {"modelRef": "pc", "control": {"version": "rules"}, "treatment": {"version": "v2"}, **patch}
    with pytest.raises(ValidationError) as info:
        ABExperimentSpec.model_validate(body)
    assert field in {".".join(str(p) for p in error["loc"]) for error in info.value.errors()}


@pytest.mark.parametrize(("params", "named"), [
    ({"svm": {"C": {"value": 1}}}, "params.svm: unknown algorithm"),
    ({"lightgbm": {"max_leaves": {"value": 8}}}, "params.lightgbm.max_leaves: unknown parameter; lightgbm takes "
                                                 "num_leaves"),
    ({"mlp": {"width": {"value": 32.5}}}, "params.mlp.width: an integer parameter"),
])
def test_training_params_name_the_algorithm_and_parameter_when_refused(params, named):
    with pytest.raises(ValidationError, match=named.replace("(", r"\(")):
        LeadScoringModelSpec.model_validate({**MINIMAL, "training": {"params": params}})


def test_training_params_and_fractions_are_kept_when_valid():
    spec = LeadScoringModelSpec.model_validate({**MINIMAL, "training": {
        "algorithms": ["lr", "randomforest", "mlp"], "validationFraction": 0.2, "testFraction": 0.25,
        "params": {"randomforest": {"max_depth": {"low": 4, "high": 8}}, "mlp": {"alpha": {"value": 0.01}}}}})
    training = spec.training
    assert training.params["randomforest"]["max_depth"].high == 8
    assert training.params["mlp"]["alpha"].value == 0.01
    assert (training.validation_fraction, training.test_fraction) == (0.2, 0.25)
    assert spec.to_wire()["training"]["params"]["mlp"] == {"alpha": {"value": 0.01}}

"""Promotion gate, retention selection, version naming."""

from __future__ import annotations

import pytest

from leadscore.api.artifact import artifact_uri
from leadscore.api.leadscoringmodel import PromotionSpec, TrainingRun
from leadscore.operator.gate import evaluate_gate
from leadscore.operator.retention import versions_to_delete
from leadscore.operator.versions import job_name, next_version, training_spec_hash


def test_gate_passes_and_promotes_when_auc_clears_floor_and_gain(version):
    result = evaluate_gate("v2", {"roc_auc": 0.82}, version("v1", 0.80), PromotionSpec(min_gain=0.01))
    assert (result.passed, result.reason) == (True, "VersionPromoted")
    assert "gain +0.0200 over v1" in result.message


def test_gate_fails_naming_the_bound_when_auc_is_below_floor():
    result = evaluate_gate("v2", {"roc_auc": 0.55}, None, PromotionSpec(min_roc_auc=0.6))
    assert (result.passed, result.reason) == (False, "MetricsBelowThreshold")
    assert result.message == "v2: roc_auc 0.5500 < promotion.minRocAuc 0.6000"


def test_gate_fails_when_gain_over_active_is_too_small(version):
    result = evaluate_gate("v3", {"roc_auc": 0.805}, version("v2", 0.80), PromotionSpec(min_gain=0.01))
    assert not result.passed
    assert "gain over active v2 is +0.0050 < promotion.minGain +0.0100" in result.message


def test_gate_measures_the_gain_on_the_same_rows_when_the_trainer_scored_the_champion(version):
    # stored: 0.80 on v2's own test period; on v3's test rows v2 scores 0.78, so v3 gains +0.025 there
    metrics = {"roc_auc": 0.805, "champion_roc_auc": 0.78}
    result = evaluate_gate("v3", metrics, version("v2", 0.80), PromotionSpec(min_gain=0.01))
    assert result.passed
    assert "gain +0.0250 over v2 >= promotion.minGain +0.0100 (on the same test rows)" in result.message
    worse = evaluate_gate("v3", {"roc_auc": 0.805, "champion_roc_auc": 0.80}, version("v2", 0.70),
                          PromotionSpec(min_gain=0.01))
    assert not worse.passed and "(on the same test rows)" in worse.message


def test_gate_passes_at_exactly_the_floor_when_no_active_version():
    assert evaluate_gate("v1", {"roc_auc": 0.6}, None, PromotionSpec(min_roc_auc=0.6)).passed


def test_gate_records_without_promoting_when_auto_rollout_is_off():
    result = evaluate_gate("v1", {"roc_auc": 0.9}, None, PromotionSpec(auto_rollout=False))
    assert (result.passed, result.reason) == (True, "VersionRecorded")


def test_gate_fails_when_result_has_no_auc():
    result = evaluate_gate("v1", {"brier": 0.1}, None, PromotionSpec())
    assert not result.passed and "no roc_auc metric (got ['brier'])" in result.message


def test_retention_keeps_newest_and_protected_when_selecting(version):
    versions = [version(f"v{i}") for i in range(1, 9)]
    doomed = versions_to_delete(versions, keep=3, protected={"v2"})
    assert [v.version for v in doomed] == ["v5", "v4", "v3", "v1"]


def test_retention_skips_versions_already_deleted_when_selecting(version):
    versions = [version("v1", deleted=True), version("v2"), version("v3")]
    assert [v.version for v in versions_to_delete(versions, keep=1, protected=())] == ["v2"]


def test_retention_orders_by_number_not_text_when_versions_pass_nine(version):
    versions = [version(f"v{i}") for i in (9, 10, 11)]
    assert [v.version for v in versions_to_delete(versions, keep=2, protected=())] == ["v9"]


def test_next_version_counts_past_a_failed_training_when_naming(status):
    run = TrainingRun(version="v3", job_name="m-train-v3", trigger="schedule", spec_hash="x", finished=True)
    assert next_version(status("v1", "v2", training=run)) == "v4"
    assert next_version(status()) == "v1"


def test_names_follow_the_convention_when_derived():
    assert job_name("pc-model", "v12") == "pc-model-train-v12"
    assert artifact_uri("s3://models/", "ns", "m", "v2") == "s3://models/ns/m/v2/"


def test_spec_hash_ignores_serving_but_not_dataset_when_compared(spec):
    served = spec.model_copy(update={"serving": spec.serving.model_copy(update={"replicas": 4})})
    moved = spec.model_copy(update={"dataset": spec.dataset.model_copy(update={"uri": "s3://leads/other.csv"})})
    assert training_spec_hash(served) == training_spec_hash(spec)
    assert training_spec_hash(moved) != training_spec_hash(spec)


@pytest.mark.parametrize("bad", ["1", "v0", "latest"])
def test_next_version_refuses_when_a_recorded_version_is_malformed(bad):
    from leadscore.operator.versions import version_number

    with pytest.raises(ValueError, match="not a version label"):
        version_number(bad)

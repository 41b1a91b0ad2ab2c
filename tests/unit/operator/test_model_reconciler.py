"""The model reconcile pass, step by step, over an in-memory cluster (the integration tests run
the same code against the real apiserver)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadscore.api.results import TrainingResult
from leadscore.operator.model_reconciler import context_from, reconcile_model, status_patch

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def body(spec_overrides=None, status=None, annotations=None):
    spec = {"vertical": "pc", "dataset": {"uri": "s3://leads/pc.parquet"}, **(spec_overrides or {})}
    return {"apiVersion": "leadscoring.io/v1alpha1", "kind": "LeadScoringModel",
            "metadata": {"name": "m", "namespace": "ns", "uid": "uid-1", "generation": 1,
                         "annotations": annotations or {}},
            "spec": spec, "status": status or {}}


def run(kube, settings, model, now=NOW):
    ctx = context_from(kube, settings, model)
    ctx.now = now
    patch = reconcile_model(ctx)
    model["status"] = {k: v for k, v in {**model["status"], **patch}.items() if v is not None}
    return ctx


def result(version, auc=0.8, uri=None):
    return TrainingResult(status="Succeeded", version=version, metrics={"roc_auc": auc},
                          artifact_uri=uri or f"s3://models/ns/m/{version}/").to_termination_message()


def test_first_pass_starts_one_training_job_when_model_is_new(kube, settings):
    model = body()
    ctx = run(kube, settings, model)
    assert list(kube.jobs) == ["m-train-v1"]
    assert model["status"]["training"]["trigger"] == "created"
    assert model["status"]["phase"] == "Training"
    assert [e.reason for e in ctx.events] == ["JobStarted"]
    assert kube.jobs["m-train-v1"]["metadata"]["ownerReferences"][0]["uid"] == "uid-1"


def test_running_job_is_not_doubled_when_passes_repeat(kube, settings, tmp_path):
    settings = settings.model_copy(update={"artifact_root": str(tmp_path)})  # the stage is read from there
    model = body()
    run(kube, settings, model)
    run(kube, settings, model)
    model["status"].pop("training")  # as if the status write was lost: the Job is adopted
    run(kube, settings, model)
    assert list(kube.jobs) == ["m-train-v1"]
    assert model["status"]["training"]["jobName"] == "m-train-v1"


def test_a_running_job_shows_the_stage_its_trainer_reported(kube, settings, tmp_path):
    from datetime import UTC, datetime

    from leadscore.api.results import TrainingProgress, progress_uri

    settings = settings.model_copy(update={"artifact_root": str(tmp_path)})
    model = body()
    run(kube, settings, model)
    assert model["status"]["training"].get("stage") is None  # nothing reported yet
    uri = progress_uri(str(tmp_path / "ns" / "m" / "v1"))
    (tmp_path / "ns" / "m").mkdir(parents=True)
    Path(uri).write_text(TrainingProgress(stage="tuning xgboost 3/5", at=datetime.now(UTC)).model_dump_json())
    run(kube, settings, model)
    assert model["status"]["training"]["stage"] == "tuning xgboost 3/5"


def test_success_records_promotes_and_serves_the_version_when_job_completes(kube, settings):
    model = body()
    run(kube, settings, model)
    kube.finish("m-train-v1", message=result("v1", 0.77))
    ctx = run(kube, settings, model)
    status = model["status"]
    assert status["activeVersion"] == "v1" and status["versions"][0]["metrics"] == {"roc_auc": 0.77}
    assert kube.isvcs["m"]["spec"]["predictor"]["model"]["storageUri"] == "s3://models/ns/m/v1/"
    assert status["phase"] == "Deploying"
    assert "VersionPromoted" in [e.reason for e in ctx.events]
    kube.isvcs["m"]["status"] = {"url": "http://m", "conditions": [{"type": "Ready", "status": "True"}]}
    run(kube, settings, model)
    assert (model["status"]["phase"], model["status"]["endpoint"]) == ("Ready", "http://m")
    assert kube.writes.count("apply isvc") == 1  # unchanged applies change nothing


def test_each_version_records_its_own_tier_cutoffs_in_status_when_trained(kube, settings):
    """A new version's cut-offs (resolved on its held-out scores) are shown next to the old ones."""
    from leadscore.api.leadscoringmodel import TierCutoff

    def trained(version, high):
        tiers = [TierCutoff(tier="high", min_score=high, top_percent=5, held_out_percent=5.1),
                 TierCutoff(tier="very_low", min_score=0, held_out_percent=50.0)]
        return TrainingResult(status="Succeeded", version=version, metrics={"roc_auc": 0.8}, tiers=tiers,
                              artifact_uri=f"s3://models/ns/m/{version}/").to_termination_message()

    model = body()
    run(kube, settings, model)
    kube.finish("m-train-v1", message=trained("v1", 41))
    run(kube, settings, model)
    model["metadata"]["annotations"]["leadscoring.io/retrain"] = "now"
    run(kube, settings, model)
    kube.finish("m-train-v2", message=trained("v2", 37))
    run(kube, settings, model)
    versions = model["status"]["versions"]
    assert [(v["version"], v["tiers"][0]["minScore"], v["tiers"][0]["heldOutPercent"]) for v in versions] == [
        ("v1", 41, 5.1), ("v2", 37, 5.1)]
    assert versions[1]["tiers"][0]["topPercent"] == 5


def test_failure_keeps_the_active_version_and_warns_when_job_fails(kube, settings):
    model = body()
    run(kube, settings, model)
    kube.finish("m-train-v1", message=result("v1"))
    run(kube, settings, model)
    model["metadata"]["annotations"]["leadscoring.io/retrain"] = "now"
    run(kube, settings, model)
    failure = TrainingResult(status="Failed", reason="InvalidDataset", message="target column 'converted' missing")
    kube.finish("m-train-v2", succeeded=False, message=failure.to_termination_message())
    ctx = run(kube, settings, model)
    trained = next(c for c in model["status"]["conditions"] if c["type"] == "Trained")
    assert (trained["status"], trained["reason"]) == ("False", "JobFailed")
    assert "InvalidDataset: target column 'converted' missing; v1 keeps serving" in trained["message"]
    assert model["status"]["activeVersion"] == "v1"
    assert [(e.type, e.reason) for e in ctx.events] == [("Warning", "JobFailed")]
    assert model["status"]["phase"] == "Degraded"


def test_result_json_is_read_from_the_bucket_when_the_termination_message_is_empty(kube, settings, tmp_path):
    settings = settings.model_copy(update={"artifact_root": str(tmp_path)})
    model = body()
    run(kube, settings, model)
    version_dir = tmp_path / "ns" / "m" / "v1"
    version_dir.mkdir(parents=True)
    (version_dir / "result.json").write_text(result("v1", 0.9, uri=str(version_dir) + "/"))
    kube.finish("m-train-v1", message="")
    run(kube, settings, model)
    assert model["status"]["versions"][0]["metrics"]["roc_auc"] == 0.9


def test_missing_result_is_reported_when_job_succeeded_without_one(kube, settings, tmp_path):
    settings = settings.model_copy(update={"artifact_root": str(tmp_path)})
    model = body()
    run(kube, settings, model)
    kube.finish("m-train-v1", message="")
    run(kube, settings, model)
    trained = next(c for c in model["status"]["conditions"] if c["type"] == "Trained")
    assert trained["reason"] == "ResultUnreadable"
    assert model["status"]["phase"] == "Failed"


@pytest.mark.parametrize(("change", "trains"), [
    ({"dataset": {"uri": "s3://leads/pc-2026.parquet"}}, True),
    ({"serving": {"replicas": 3}}, False),
    ({"promotion": {"minRocAuc": 0.7}}, False),
])
def test_only_training_relevant_spec_changes_retrain_when_spec_is_edited(kube, settings, change, trains):
    model = body()
    run(kube, settings, model)
    kube.finish("m-train-v1", message=result("v1"))
    run(kube, settings, model)
    model["spec"].update(change)
    run(kube, settings, model)
    assert ("m-train-v2" in kube.jobs) is trains


def test_schedule_starts_a_training_when_a_cron_tick_passed(kube, settings):
    model = body({"schedule": {"cron": "0 3 * * *"}})
    run(kube, settings, model, now=datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    kube.finish("m-train-v1", message=result("v1"))
    run(kube, settings, model, now=datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    assert "m-train-v2" not in kube.jobs
    run(kube, settings, model, now=datetime(2026, 3, 2, 3, 5, tzinfo=UTC))
    assert model["status"]["training"]["trigger"] == "schedule"
    assert model["status"]["lastScheduleTime"] == "2026-03-02T03:00:00Z"


def test_retraining_asks_the_trainer_to_score_the_serving_version_on_the_same_rows(kube, settings):
    model = body({"schedule": {"cron": "0 3 * * *"}})
    run(kube, settings, model, now=datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    first = kube.jobs["m-train-v1"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--champion" not in first  # nothing serves yet
    kube.finish("m-train-v1", message=result("v1"))
    run(kube, settings, model, now=datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    run(kube, settings, model, now=datetime(2026, 3, 2, 3, 5, tzinfo=UTC))
    args = kube.jobs["m-train-v2"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--champion") + 1] == "s3://models/ns/m/v1/"


def test_suspended_schedule_starts_nothing_when_a_tick_passed(kube, settings):
    model = body({"schedule": {"cron": "@hourly", "suspend": True}})
    run(kube, settings, model, now=datetime(2026, 3, 2, 1, 0, tzinfo=UTC))
    kube.finish("m-train-v1", message=result("v1"))
    run(kube, settings, model, now=datetime(2026, 3, 2, 5, 0, tzinfo=UTC))
    assert list(kube.jobs) == ["m-train-v1"]


def test_pinned_version_that_is_gone_sets_serving_false_when_pinned(kube, settings):
    model = body()
    run(kube, settings, model)
    kube.finish("m-train-v1", message=result("v1"))
    run(kube, settings, model)
    model["spec"]["serving"] = {"pinnedVersion": "v4"}
    run(kube, settings, model)
    serving = next(c for c in model["status"]["conditions"] if c["type"] == "Serving")
    assert (serving["status"], serving["reason"]) == ("False", "PinnedVersionMissing")
    assert kube.isvcs["m"]["spec"]["predictor"]["model"]["storageUri"].endswith("/v1/")


def test_status_patch_holds_only_changed_fields_when_computed():
    from leadscore.api.leadscoringmodel import LeadScoringModelStatus

    before = LeadScoringModelStatus(active_version="v1", endpoint="http://m")
    after = before.model_copy(update={"endpoint": None, "latest_version": "v2"})
    assert status_patch(before, after) == {"endpoint": None, "latestVersion": "v2"}


# --- a training whose pod cannot start ------------------------------------------------------------

def _pending_pod(**status):
    return {"metadata": {"name": "m-train-v1-x7k2p", "creationTimestamp": "2026-03-02T12:00:00Z"},
            "status": {"phase": "Pending", **status}}


def test_an_image_that_cannot_be_pulled_fails_the_training_now_naming_the_image(kube, settings):
    model = body(status={"activeVersion": "v0", "servedVersion": "v0"})
    run(kube, settings, model)
    never = {"reason": "ErrImageNeverPull",
             "message": 'Container image "docker.io/leadscore/trainer:nope" is not present with pull policy of Never'}
    kube.pods["m-train-v1"] = [_pending_pod(containerStatuses=[
        {"name": "trainer", "image": "docker.io/leadscore/trainer:nope", "state": {"waiting": never}}])]
    ctx = run(kube, settings, model)
    trained = next(c for c in model["status"]["conditions"] if c["type"] == "Trained")
    assert (trained["status"], trained["reason"]) == ("False", "ErrImageNeverPull")
    assert "cannot get image docker.io/leadscore/trainer:nope" in trained["message"]
    assert trained["message"].endswith("v0 keeps serving")
    assert [(e.type, e.reason) for e in ctx.events] == [("Warning", "ErrImageNeverPull")]
    assert model["status"]["training"]["finished"] is True
    assert model["status"]["activeVersion"] == "v0"  # the serving version is untouched
    assert model["status"]["phase"] == "Degraded"  # Failed when nothing serves
    run(kube, settings, model)  # the Job still runs (until its deadline): it is not adopted again
    assert model["status"]["training"]["jobName"] == "m-train-v1" and model["status"]["training"]["finished"]


def test_an_unschedulable_pod_stalls_the_training_then_fails_it_after_the_grace_period(kube, settings):
    from datetime import timedelta

    settings = settings.model_copy(update={"training_stall_seconds": 600})
    model = body()
    run(kube, settings, model)
    kube.pods["m-train-v1"] = [_pending_pod(conditions=[{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "lastTransitionTime": NOW.isoformat().replace("+00:00", "Z"),
        "message": "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."}])]
    first = run(kube, settings, model, now=NOW + timedelta(seconds=30))
    again = run(kube, settings, model, now=NOW + timedelta(seconds=60))
    trained = next(c for c in model["status"]["conditions"] if c["type"] == "Trained")
    assert (trained["status"], trained["reason"]) == ("Unknown", "Unschedulable")
    assert "Insufficient nvidia.com/gpu" in trained["message"] and "fails after 600s" in trained["message"]
    assert model["status"]["phase"] == "Training"
    assert [e.reason for e in first.events] == ["Unschedulable"] and again.events == []  # one Event, not one a pass

    kube.pods["m-train-v1"][0]["status"]["conditions"][0]["status"] = "True"  # a node came
    run(kube, settings, model, now=NOW + timedelta(seconds=90))
    trained = next(c for c in model["status"]["conditions"] if c["type"] == "Trained")
    assert (trained["status"], trained["reason"]) == ("Unknown", "JobStarted")

    kube.pods["m-train-v1"][0]["status"]["conditions"][0]["status"] = "False"  # gone again, for too long
    last = run(kube, settings, model, now=NOW + timedelta(seconds=601))
    trained = next(c for c in model["status"]["conditions"] if c["type"] == "Trained")
    assert (trained["status"], trained["reason"]) == ("False", "Unschedulable")
    assert "for 601s, longer than LEADSCORE_TRAINING_STALL_SECONDS=600" in trained["message"]
    assert model["status"]["phase"] == "Failed" and model["status"]["training"]["finished"] is True
    assert [(e.type, e.reason) for e in last.events] == [("Warning", "Unschedulable")]

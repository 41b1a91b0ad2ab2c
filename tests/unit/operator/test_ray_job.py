"""The KubeRay RayJob of ``spec.training.engine: ray``, built without a cluster; how its status
(KubeRay v1.5.0's ``jobDeploymentStatus`` / ``jobStatus``) maps to an outcome; and the reconciler
running it through the Job's paths: created once, adopted after a restart, a finished one made a
version through result.json and the gate, a failed one reported while the active version serves."""

from __future__ import annotations

import shlex
from importlib import metadata

import pytest
from pydantic import ValidationError
from test_model_reconciler import body, result, run

from leadscore.api.crd import KUBERAY_MAX_RAYJOB_NAME, RAY_MODEL_NAME_MAX, RAY_NAME_RULE
from leadscore.api.leadscoringmodel import LeadScoringModelSpec
from leadscore.api.wire import RAY_VERSION
from leadscore.errors import reason_of_exit_code
from leadscore.operator.builders import ray_job_manifest, training_job_manifest
from leadscore.operator.observe import exit_reason, ray_job_outcome, training_outcome
from leadscore.operator.versions import job_name


def _ray_spec(spec: LeadScoringModelSpec, **ray) -> LeadScoringModelSpec:
    training = spec.training.model_dump(by_alias=True, exclude_none=True)
    return LeadScoringModelSpec.model_validate({**spec.model_dump(by_alias=True, exclude_none=True),
                                                "training": {**training, "engine": "ray", "ray": ray}})


def _groups(job: dict) -> tuple[dict, dict]:
    cluster = job["spec"]["rayClusterSpec"]
    (workers,) = cluster["workerGroupSpecs"]
    return cluster["headGroupSpec"], workers


def test_the_rayjob_is_named_labelled_and_sized_from_the_spec(spec, settings):
    ray = _ray_spec(spec, workers=3, gpuPerWorker=1, head={"resources": {"requests": {"cpu": 1, "memory": "4Gi"}}},
                    worker={"resources": {"limits": {"cpu": 8, "memory": "32Gi"}}})
    job = ray_job_manifest("ns", "m", "v3", "s3://models/ns/m/v3/", ray, settings)
    assert (job["apiVersion"], job["kind"], job["metadata"]["name"]) == ("ray.io/v1", "RayJob", "m-train-v3")
    head, workers = _groups(job)
    for group in (head, workers):
        assert group["template"]["metadata"]["labels"] == job["metadata"]["labels"]
        assert group["template"]["spec"]["containers"][0]["image"] == settings.trainer_ray_image
    assert head["template"]["spec"]["containers"][0]["resources"] == {"requests": {"cpu": "1", "memory": "4Gi"}}
    assert "nodeSelector" not in head["template"]["spec"]  # the head trains nothing: no GPU, no GPU node
    assert (workers["replicas"], workers["minReplicas"], workers["maxReplicas"]) == (3, 3, 3)
    assert workers["template"]["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "8", "memory": "32Gi", "nvidia.com/gpu": "1"}}
    assert workers["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert job["spec"]["rayClusterSpec"]["rayVersion"] == RAY_VERSION
    assert job["spec"]["shutdownAfterJobFinishes"] is True


def test_the_rayjob_pods_get_the_jobs_env_secrets_and_security_from_one_builder(spec, settings):
    ray = _ray_spec(spec)
    job = ray_job_manifest("ns", "m", "v3", "s3://models/ns/m/v3/", ray, settings)
    (trainer,) = training_job_manifest("ns", "m", "v3", "s3://models/ns/m/v3/", spec, settings)[
        "spec"]["template"]["spec"]["containers"]
    for group in _groups(job):
        pod = group["template"]["spec"]
        (container,) = pod["containers"]
        for key in ("env", "envFrom", "securityContext", "volumeMounts", "workingDir"):
            assert container[key] == trainer[key], key
        assert "command" not in container  # KubeRay puts `ray start` there
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["volumes"][0]["emptyDir"]


def test_the_ray_pods_are_probed_over_http_on_rays_own_health_endpoints(spec, settings):
    """KubeRay's default probes run ``bash -c "wget ... | grep success"``: the trainer-ray image has
    no wget, so the builder's HTTP probes (which KubeRay keeps) hold the pods' readiness instead."""
    head, workers = (group["template"]["spec"]["containers"][0]
                     for group in _groups(ray_job_manifest("ns", "m", "v3", "s3://m/", _ray_spec(spec), settings)))
    assert head["readinessProbe"]["httpGet"] == {"path": "/api/gcs_healthz", "port": 8265}
    for container in (head, workers):
        assert container["livenessProbe"]["httpGet"] == {"path": "/api/local_raylet_healthz", "port": 52365}
        assert "exec" not in container["readinessProbe"] and "exec" not in container["livenessProbe"]
    assert workers["readinessProbe"]["httpGet"] == {"path": "/api/local_raylet_healthz", "port": 52365}


def test_kuberays_submitter_pod_is_restricted_small_and_runs_the_head_image(spec, settings):
    """KubeRay's default submitter has no security context (Pod Security ``restricted`` refuses
    its Job's pod) and asks for half a CPU; the builder's template fixes both and leaves the
    command to KubeRay (``ray job submit`` to the head, then ``ray job logs --follow``)."""
    job = ray_job_manifest("ns", "m", "v3", "s3://models/ns/m/v3/", _ray_spec(spec), settings)
    head, _ = _groups(job)
    assert job["spec"]["submissionMode"] == "K8sJobMode"
    template = job["spec"]["submitterPodTemplate"]
    pod = template["spec"]
    (container,) = pod["containers"]
    assert template["metadata"]["labels"] == job["metadata"]["labels"]
    assert pod["restartPolicy"] == "Never" and pod["securityContext"] == head["template"]["spec"]["securityContext"]
    assert container["image"] == head["template"]["spec"]["containers"][0]["image"]
    assert container["securityContext"] == head["template"]["spec"]["containers"][0]["securityContext"]
    assert "command" not in container and "args" not in container and not container["envFrom"]
    assert container["resources"]["requests"]["cpu"] == "100m" and container["resources"]["limits"]["memory"]
    assert {m["mountPath"] for m in container["volumeMounts"]} == {"/tmp"}  # its only writable path


def test_the_rayjob_runs_the_jobs_trainer_arguments_on_the_ray_engine(spec, settings):
    ray = _ray_spec(spec)
    job = ray_job_manifest("ns", "m", "v3", "s3://models/ns/m/v3/", ray, settings, champion="s3://models/ns/m/v2/")
    words = shlex.split(job["spec"]["entrypoint"])
    trainer = training_job_manifest("ns", "m", "v3", "s3://models/ns/m/v3/", ray, settings,
                                    champion="s3://models/ns/m/v2/")["spec"]["template"]["spec"]["containers"][0]
    expected = [word for word in trainer["args"] if word not in ("--termination-log", "/dev/termination-log")]
    assert words == ["leadscore", *expected, "--engine", "ray"]  # a driver on the head has no termination log


def test_parallel_trials_reach_the_drivers_command_line_and_are_validated(spec, settings):
    job = ray_job_manifest("ns", "m", "v3", "s3://models/ns/m/v3/", _ray_spec(spec, parallelTrials=3), settings)
    assert shlex.split(job["spec"]["entrypoint"])[-4:] == ["--engine", "ray", "--parallel-trials", "3"]
    with pytest.raises(ValidationError, match=r"ray.parallelTrials\n.*greater than or equal to 1"):
        _ray_spec(spec, parallelTrials=0)


def test_ray_settings_are_refused_without_the_ray_engine(spec):
    training = spec.training.model_dump(by_alias=True, exclude_none=True)
    with pytest.raises(ValidationError, match=r"spec.training.ray is only read with engine ray"):
        LeadScoringModelSpec.model_validate({**spec.model_dump(by_alias=True, exclude_none=True),
                                             "training": {**training, "ray": {"workers": 2}}})
    assert spec.training.engine == "job"


def test_the_crds_name_limit_for_ray_fits_the_rayjob_name_in_kuberays_limit_up_to_v999():
    assert len(job_name("a" * RAY_MODEL_NAME_MAX, "v999")) == KUBERAY_MAX_RAYJOB_NAME == 47
    assert str(RAY_MODEL_NAME_MAX) in RAY_NAME_RULE["rule"] and RAY_NAME_RULE["message"].startswith("metadata.name")


def test_the_ray_version_told_to_kuberay_is_the_installed_ray():
    assert metadata.version("ray") == RAY_VERSION


RAY = {"training": {"engine": "ray", "ray": {"workers": 2}}}


def _ray_status(kube, name, **status):
    """Play KubeRay: write the RayJob's status as its controller does."""
    kube.ray_jobs[name]["status"] = status


def _trained(model):
    return next(c for c in model["status"]["conditions"] if c["type"] == "Trained")


@pytest.mark.parametrize(("status", "expected"), [
    ({}, ("Running", "", "")),
    ({"jobDeploymentStatus": "Initializing"}, ("Running", "", "")),
    ({"jobDeploymentStatus": "Running", "jobStatus": "RUNNING"}, ("Running", "", "")),
    ({"jobDeploymentStatus": "Retrying", "jobStatus": "FAILED", "reason": "AppFailed"}, ("Running", "", "")),
    ({"jobDeploymentStatus": "Suspended"}, ("Running", "", "")),
    ({"jobDeploymentStatus": "Complete", "jobStatus": "SUCCEEDED"}, ("Succeeded", "", "")),
    ({"jobDeploymentStatus": "Complete", "jobStatus": "STOPPED", "message": "stopped by the user"},
     ("Failed", "JobStopped", "stopped by the user")),
    ({"jobDeploymentStatus": "Failed", "jobStatus": "FAILED", "reason": "AppFailed",
      "message": "Job entrypoint command failed with exit code 3"},
     ("Failed", "AppFailed", "Job entrypoint command failed with exit code 3")),
    ({"jobDeploymentStatus": "Failed", "reason": "DeadlineExceeded", "message": "passed activeDeadlineSeconds"},
     ("Failed", "DeadlineExceeded", "passed activeDeadlineSeconds")),
    ({"jobDeploymentStatus": "ValidationFailed", "reason": "ValidationFailed", "message": "bad spec"},
     ("Failed", "ValidationFailed", "bad spec")),
])
def test_a_rayjobs_status_maps_to_the_jobs_outcomes(status, expected):
    outcome = ray_job_outcome({"status": status})
    assert (outcome.state, outcome.reason, outcome.message) == expected
    assert training_outcome("ray", {"status": status}) == outcome


def test_the_ray_engine_creates_one_owned_rayjob_and_no_job(kube, settings):
    model = body(RAY)
    ctx = run(kube, settings, model)
    assert kube.jobs == {} and list(kube.ray_jobs) == ["m-train-v1"]
    created = kube.ray_jobs["m-train-v1"]
    assert created["kind"] == "RayJob" and created["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    assert created["metadata"]["annotations"]["leadscoring.io/trigger"] == "created"
    assert (model["status"]["training"]["engine"], model["status"]["phase"]) == ("ray", "Training")
    assert [(e.reason, e.message) for e in ctx.events] == [("JobStarted", "RayJob m-train-v1 trains v1 (created)")]
    run(kube, settings, model)
    model["status"].pop("training")  # as if the status write was lost: the RayJob is adopted
    run(kube, settings, model)
    assert list(kube.ray_jobs) == ["m-train-v1"] and kube.writes == ["create RayJob m-train-v1"]
    assert model["status"]["training"]["engine"] == "ray"
    assert _trained(model)["message"] == "RayJob m-train-v1 is running (adopted)"


def test_a_finished_rayjob_becomes_a_version_through_result_json_and_the_gate(kube, settings, tmp_path):
    settings = settings.model_copy(update={"artifact_root": str(tmp_path)})
    model = body(RAY)
    run(kube, settings, model)
    _ray_status(kube, "m-train-v1", jobDeploymentStatus="Running", jobStatus="RUNNING")
    run(kube, settings, model)
    assert "versions" not in model["status"]
    version_dir = tmp_path / "ns" / "m" / "v1"
    version_dir.mkdir(parents=True)
    (version_dir / "result.json").write_text(result("v1", 0.81, uri=str(version_dir) + "/"))
    _ray_status(kube, "m-train-v1", jobDeploymentStatus="Complete", jobStatus="SUCCEEDED")
    ctx = run(kube, settings, model)
    status = model["status"]
    assert status["activeVersion"] == "v1" and status["versions"][0]["metrics"] == {"roc_auc": 0.81}
    assert status["versions"][0]["jobName"] == "m-train-v1" and status["training"]["finished"] is True
    assert kube.isvcs["m"]["spec"]["predictor"]["model"]["storageUri"] == str(version_dir) + "/"
    assert "VersionPromoted" in [e.reason for e in ctx.events]


def test_a_failed_rayjobs_log_tail_is_cut_to_the_drivers_last_line(kube, settings, tmp_path):
    """Ray's message for a failed entrypoint carries the driver's last logs: the condition keeps its
    last line (the trainer's one-line error), not kilobytes of log, led by the reason of its exit code."""
    settings = settings.model_copy(update={"artifact_root": str(tmp_path)})
    model = body(RAY)
    run(kube, settings, model)
    tail = "\n".join(f"INFO step {i}" for i in range(500))
    _ray_status(kube, "m-train-v1", jobDeploymentStatus="Failed", jobStatus="FAILED", reason="AppFailed",
                message="Job entrypoint command failed with exit code 3, last available logs (truncated to 20,000 "
                        f"chars):\n{tail}\nerror: --target: column 'converted' is not in the data set\n")
    run(kube, settings, model)
    assert _trained(model)["message"] == ("RayJob m-train-v1 (v1) failed: AppFailed: InvalidDataset (exit 3): error: "
                                          "--target: column 'converted' is not in the data set")


def test_a_finished_rayjob_without_result_json_is_reported_unreadable(kube, settings, tmp_path):
    settings = settings.model_copy(update={"artifact_root": str(tmp_path)})
    model = body(RAY)
    run(kube, settings, model)
    _ray_status(kube, "m-train-v1", jobDeploymentStatus="Complete", jobStatus="SUCCEEDED")
    run(kube, settings, model)
    assert _trained(model)["reason"] == "ResultUnreadable" and "RayJob m-train-v1" in _trained(model)["message"]


def test_a_failed_rayjob_keeps_the_active_version_serving_and_says_why(kube, settings, tmp_path):
    settings = settings.model_copy(update={"artifact_root": str(tmp_path)})
    model = body(RAY)
    run(kube, settings, model)
    (tmp_path / "ns" / "m" / "v1").mkdir(parents=True)
    (tmp_path / "ns" / "m" / "v1" / "result.json").write_text(result("v1"))
    _ray_status(kube, "m-train-v1", jobDeploymentStatus="Complete", jobStatus="SUCCEEDED")
    run(kube, settings, model)
    model["metadata"]["annotations"]["leadscoring.io/retrain"] = "now"
    run(kube, settings, model)
    assert list(kube.ray_jobs) == ["m-train-v1", "m-train-v2"]
    _ray_status(kube, "m-train-v2", jobDeploymentStatus="Failed", jobStatus="FAILED", reason="AppFailed",
                message="Job entrypoint command failed with exit code 9")
    ctx = run(kube, settings, model)
    trained = _trained(model)
    assert (trained["status"], trained["reason"]) == ("False", "JobFailed")
    assert trained["message"] == ("RayJob m-train-v2 (v2) failed: AppFailed: ClusterUnavailable (exit 9): Job "
                                  "entrypoint command failed with exit code 9; v1 keeps serving")
    assert model["status"]["activeVersion"] == "v1" and [v["version"] for v in model["status"]["versions"]] == ["v1"]
    assert [(e.type, e.reason) for e in ctx.events] == [("Warning", "JobFailed")]
    assert kube.isvcs["m"]["spec"]["predictor"]["model"]["storageUri"] == "s3://models/ns/m/v1/"


def test_the_ray_engine_without_kuberay_says_so_once_and_starts_nothing(kube, settings):
    kube.kuberay = False
    model = body(RAY)
    ctx = run(kube, settings, model)
    assert kube.jobs == {} and kube.ray_jobs == {} and "training" not in model["status"]
    trained = _trained(model)
    assert (trained["status"], trained["reason"]) == ("False", "EngineUnavailable")
    assert "serves no ray.io/v1 RayJob" in trained["message"] and "install KubeRay" in trained["message"]
    assert [e.reason for e in ctx.events] == ["EngineUnavailable"]
    again = run(kube, settings, model)
    assert again.events == [] and kube.ray_jobs == {}  # said once, not on every pass
    kube.kuberay = True  # KubeRay installed later: the next pass starts the training
    run(kube, settings, model)
    assert list(kube.ray_jobs) == ["m-train-v1"]


def test_a_ray_pod_that_cannot_get_its_image_fails_the_training_as_a_jobs_pod_does(kube, settings):
    model = body(RAY, status={"activeVersion": "v0", "servedVersion": "v0"})
    run(kube, settings, model)
    _ray_status(kube, "m-train-v1", jobDeploymentStatus="Initializing")
    back_off = {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"leadscore/trainer-ray:nope\""}
    kube.pods["m-train-v1"] = [{"metadata": {"name": "m-train-v1-abcde-head-x7k2p",
                                             "creationTimestamp": "2026-03-02T12:00:00Z"},
                                "status": {"phase": "Pending", "containerStatuses": [
                                    {"name": "ray-head", "image": "leadscore/trainer-ray:nope",
                                     "state": {"waiting": back_off}}]}}]
    ctx = run(kube, settings, model)
    trained = _trained(model)
    assert (trained["status"], trained["reason"]) == ("False", "ImagePullBackOff")
    assert trained["message"].startswith("RayJob m-train-v1 (v1) cannot run: pod m-train-v1-abcde-head-x7k2p: "
                                         "container ray-head cannot get image leadscore/trainer-ray:nope")
    assert trained["message"].endswith("v0 keeps serving")
    assert [(e.type, e.reason) for e in ctx.events] == [("Warning", "ImagePullBackOff")]
    run(kube, settings, model)  # the RayJob still runs (until its deadline): it is not adopted again
    assert model["status"]["training"]["finished"] is True and list(kube.ray_jobs) == ["m-train-v1"]


def test_a_rayjobs_exit_code_is_named_by_the_trainers_reason_for_it():
    # KubeRay's message names the driver's exit code, then its log tail; the code is the trainer's contract
    message = ("Job entrypoint command failed with exit code 9, last available logs (truncated to 20,000 chars):\n"
               "error: the Ray cluster lost an XGBoost worker (Ray task _train_part), rank 1 of 2, mid-run (...)")
    assert exit_reason(message) == "ClusterUnavailable (exit 9)"
    assert exit_reason("Job entrypoint command failed with exit code 3") == "InvalidDataset (exit 3)"
    assert exit_reason("Job entrypoint command failed with exit code 1") is None  # a bug: no reason of its own
    assert exit_reason("the RayJob's deadline passed") is None
    assert [reason_of_exit_code(code) for code in (2, 4, 5, 6, 7, 8, 9, 42)] == [
        "InvalidConfig", "LeakyColumns", "TrainingFailed", "OnnxParityFailed", "StorageFailed", "InsufficientData",
        "ClusterUnavailable", None]

"""The KubeRay RayJob of ``spec.training.engine: ray``, built without a cluster, and what the
reconciler does with that engine today (it is not run yet: the Trained condition says so)."""

from __future__ import annotations

import shlex
from importlib import metadata

import pytest
from pydantic import ValidationError
from test_model_reconciler import body, run

from leadscore.api.leadscoringmodel import LeadScoringModelSpec
from leadscore.api.wire import RAY_VERSION
from leadscore.operator.builders import ray_job_manifest, training_job_manifest


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


def test_the_rayjob_runs_the_jobs_trainer_arguments_on_the_ray_engine(spec, settings):
    ray = _ray_spec(spec)
    job = ray_job_manifest("ns", "m", "v3", "s3://models/ns/m/v3/", ray, settings, champion="s3://models/ns/m/v2/")
    words = shlex.split(job["spec"]["entrypoint"])
    trainer = training_job_manifest("ns", "m", "v3", "s3://models/ns/m/v3/", ray, settings,
                                    champion="s3://models/ns/m/v2/")["spec"]["template"]["spec"]["containers"][0]
    expected = [word for word in trainer["args"] if word not in ("--termination-log", "/dev/termination-log")]
    assert words == ["leadscore", *expected, "--engine", "ray"]  # a driver on the head has no termination log


def test_ray_settings_are_refused_without_the_ray_engine(spec):
    training = spec.training.model_dump(by_alias=True, exclude_none=True)
    with pytest.raises(ValidationError, match=r"spec.training.ray is only read with engine ray"):
        LeadScoringModelSpec.model_validate({**spec.model_dump(by_alias=True, exclude_none=True),
                                             "training": {**training, "ray": {"workers": 2}}})
    assert spec.training.engine == "job"


def test_the_ray_version_told_to_kuberay_is_the_installed_ray():
    assert metadata.version("ray") == RAY_VERSION


def test_the_ray_engine_is_refused_on_the_trained_condition_not_run(kube, settings):
    model = body({"training": {"engine": "ray", "ray": {"workers": 2}}})
    ctx = run(kube, settings, model)
    assert kube.jobs == {}
    trained = next(c for c in model["status"]["conditions"] if c["type"] == "Trained")
    assert (trained["status"], trained["reason"]) == ("False", "EngineNotImplemented")
    assert "not implemented yet" in trained["message"]
    assert [e.reason for e in ctx.events] == ["EngineNotImplemented"]
    again = run(kube, settings, model)
    assert again.events == [] and kube.jobs == {}  # said once, not on every pass

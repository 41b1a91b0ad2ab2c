"""A training Job whose pod cannot start, against the real apiserver and job controller: the
operator reads the pod status (written through the status subresource, as the kubelet and the
scheduler would: no kubelet runs here) and shows it on the LeadScoringModel instead of waiting
for the Job's activeDeadlineSeconds."""

from __future__ import annotations

import datetime

import pytest
from operator_harness import LSM, condition, model, running_operator

from support.kubelet import job_pods
from support.polling import eventually

pytestmark = [pytest.mark.integration, pytest.mark.kserve]


def _first_pod(cluster, job):
    return eventually(lambda: job_pods(cluster.core, cluster.namespace, job), what=f"pod of job {job}")[0]


def _trained(cluster, reason, status):
    return eventually(lambda: (c := condition(cluster, "m", "Trained")) and c["reason"] == reason
                      and c["status"] == status and c, what=f"Trained={status} {reason}", timeout=60)


def test_a_trainer_image_that_is_never_pulled_fails_the_training_naming_the_image(cluster, operator):
    cluster.create(LSM, model())
    pod = _first_pod(cluster, "m-train-v1")
    container = pod.spec.containers[0]
    cluster.core.patch_namespaced_pod_status(pod.metadata.name, cluster.namespace, {"status": {
        "phase": "Pending", "containerStatuses": [{
            "name": container.name, "image": container.image, "imageID": "", "ready": False, "restartCount": 0,
            "started": False, "state": {"waiting": {
                "reason": "ErrImageNeverPull",
                "message": f'Container image "{container.image}" is not present with pull policy of Never'}}}]}})
    found = _trained(cluster, "ErrImageNeverPull", "False")
    assert f"cannot get image {container.image}" in found["message"]
    status = cluster.status(LSM, "m")
    assert status["phase"] == "Failed" and "activeVersion" not in status  # nothing served, nothing promoted
    assert status["training"]["finished"] is True and status["training"]["jobName"] == "m-train-v1"
    assert any(e.reason == "ErrImageNeverPull" and e.type == "Warning" and container.image in e.message
               for e in cluster.events("m"))
    assert [j.metadata.name for j in cluster.jobs("m")] == ["m-train-v1"]  # left alone, and not adopted again


def test_an_unschedulable_pod_stalls_the_training_then_fails_it_after_the_grace_period(cluster, monkeypatch):
    monkeypatch.setenv("LEADSCORE_TRAINING_STALL_SECONDS", "15")
    with running_operator(cluster.namespace):
        cluster.create(LSM, model())
        pod = _first_pod(cluster, "m-train-v1")
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        cluster.core.patch_namespaced_pod_status(pod.metadata.name, cluster.namespace, {"status": {
            "phase": "Pending", "conditions": [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "lastTransitionTime": now,
                "message": "0/1 nodes are available: 1 Insufficient nvidia.com/gpu."}]}})
        stalled = _trained(cluster, "Unschedulable", "Unknown")
        assert "Insufficient nvidia.com/gpu" in stalled["message"] and "fails after 15s" in stalled["message"]
        assert cluster.status(LSM, "m")["phase"] == "Training"
        assert [e.type for e in cluster.events("m") if e.reason == "Unschedulable"] == ["Warning"]

        failed = _trained(cluster, "Unschedulable", "False")
        assert "longer than LEADSCORE_TRAINING_STALL_SECONDS=15" in failed["message"]
        assert cluster.status(LSM, "m")["phase"] == "Failed"
        assert len([e for e in cluster.events("m") if e.reason == "Unschedulable"]) == 2

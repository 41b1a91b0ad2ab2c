"""Pod statuses as the kubelet and the scheduler write them (shapes copied from real pods) turned
into why a training Job cannot run."""

from __future__ import annotations

from typing import Any

import pytest

from leadscore.operator.pod_trouble import pod_trouble

IMAGE = "docker.io/leadscore/trainer:missing"


def pod(name: str = "m-train-v1-x7k2p", created: str = "2026-03-02T12:00:00Z", *,
        containers: list[dict[str, Any]] | None = None, init: list[dict[str, Any]] | None = None,
        conditions: list[dict[str, Any]] | None = None, phase: str = "Pending") -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "conditions": conditions or [], "qosClass": "Burstable"}
    if containers is not None:
        status["containerStatuses"] = containers
    if init is not None:
        status["initContainerStatuses"] = init
    return {"metadata": {"name": name, "namespace": "ns", "creationTimestamp": created,
                         "labels": {"batch.kubernetes.io/job-name": "m-train-v1"}},
            "status": status}


def waiting(reason: str, message: str, name: str = "trainer", image: str = IMAGE) -> dict[str, Any]:
    return {"name": name, "image": image, "imageID": "", "ready": False, "restartCount": 0, "started": False,
            "lastState": {}, "state": {"waiting": {"reason": reason, "message": message}}}


SCHEDULED = {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": "2026-03-02T12:00:01Z"}
UNSCHEDULABLE = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                 "lastTransitionTime": "2026-03-02T12:00:01Z", "reason": "Unschedulable",
                 "message": "0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are "
                            "available: 1 No preemption victims found for incoming pod."}


@pytest.mark.parametrize(("reason", "message"), [
    ("ErrImagePull", f'failed to pull and unpack image "{IMAGE}": failed to resolve reference "{IMAGE}": '
                     f"{IMAGE}: not found"),
    ("ImagePullBackOff", f'Back-off pulling image "{IMAGE}"'),
    ("ErrImageNeverPull", f'Container image "{IMAGE}" is not present with pull policy of Never'),
    ("InvalidImageName", 'Failed to apply default image tag "Trainer:1": couldn\'t parse image name'),
])
def test_an_image_the_kubelet_cannot_get_is_permanent_and_named(reason: str, message: str) -> None:
    trouble = pod_trouble([pod(containers=[waiting(reason, message)], conditions=[SCHEDULED])])
    assert trouble is not None
    assert (trouble.kind, trouble.reason) == ("permanent", reason)
    assert trouble.message.startswith(f"pod m-train-v1-x7k2p: container trainer cannot get image {IMAGE}: ")
    assert message.split()[0] in trouble.message


def test_an_init_container_image_counts_too() -> None:
    trouble = pod_trouble([pod(init=[waiting("ImagePullBackOff", "Back-off", name="fetch", image="x/y:1")],
                               containers=[waiting("PodInitializing", "")], conditions=[SCHEDULED])])
    assert trouble is not None and trouble.reason == "ImagePullBackOff" and "container fetch" in trouble.message


def test_a_container_still_creating_or_pulling_is_no_trouble() -> None:
    assert pod_trouble([pod(containers=[waiting("ContainerCreating", "")], conditions=[SCHEDULED])]) is None
    assert pod_trouble([pod(conditions=[SCHEDULED])]) is None  # no statuses written yet
    assert pod_trouble([]) is None


def test_oom_killed_is_permanent_whether_the_container_is_terminated_or_restarting() -> None:
    oom = {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-03-02T12:00:05Z",
                          "finishedAt": "2026-03-02T12:01:00Z", "containerID": "containerd://abc"}}
    terminated = {"name": "trainer", "image": IMAGE, "ready": False, "restartCount": 0, "state": oom, "lastState": {}}
    restarted = {**terminated, "state": {"running": {"startedAt": "2026-03-02T12:01:02Z"}}, "lastState": oom}
    for status in (terminated, restarted):
        trouble = pod_trouble([pod(containers=[status], conditions=[SCHEDULED], phase="Failed")])
        assert trouble is not None and (trouble.kind, trouble.reason) == ("permanent", "OOMKilled")
        assert "exceeding its memory limit (OOMKilled, exit code 137)" in trouble.message


def test_an_error_exit_is_left_to_the_job_controller() -> None:
    error = {"name": "trainer", "image": IMAGE, "ready": False, "restartCount": 0, "lastState": {},
             "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
    assert pod_trouble([pod(containers=[error], conditions=[SCHEDULED], phase="Failed")]) is None


def test_unschedulable_is_stalled_since_the_scheduler_said_so() -> None:
    trouble = pod_trouble([pod(conditions=[UNSCHEDULABLE])])
    assert trouble is not None
    assert (trouble.kind, trouble.reason, trouble.since) == ("stalled", "Unschedulable", "2026-03-02T12:00:01Z")
    assert trouble.message.startswith("pod m-train-v1-x7k2p cannot be scheduled: 0/1 nodes are available: "
                                      "1 Insufficient nvidia.com/gpu.")


def test_a_pod_not_yet_looked_at_by_the_scheduler_is_no_trouble() -> None:
    gated = {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated", "message": "gated"}
    assert pod_trouble([pod(conditions=[gated])]) is None


def test_a_permanent_trouble_wins_over_a_stalled_newer_pod() -> None:
    older = pod("m-train-v1-aaaaa", "2026-03-02T12:00:00Z",
                containers=[waiting("ErrImageNeverPull", "not present")], conditions=[SCHEDULED])
    newer = pod("m-train-v1-bbbbb", "2026-03-02T12:05:00Z", conditions=[UNSCHEDULABLE])
    trouble = pod_trouble([newer, older])
    assert trouble is not None and trouble.reason == "ErrImageNeverPull" and "m-train-v1-aaaaa" in trouble.message

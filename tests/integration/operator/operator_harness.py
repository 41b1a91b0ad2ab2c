"""Helpers of the operator integration tests: the in-process operator, the collector's summary
endpoint, "stays true" polling and shared model scenarios (cluster access: support.cluster)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from leadscore.api.leadscoringmodel import TierCutoff
from leadscore.api.results import TrainingResult
from support.kubelet import finish_pod, job_pods
from support.polling import eventually


@contextmanager
def running_operator(namespace: str, peering: str | None = None) -> Iterator[Any]:
    """The operator (all handlers) watching one namespace, in this process, as a user runs it;
    standalone unless ``peering`` names a KopfPeering object to elect the active replica in."""
    from kopf.testing import KopfRunner

    mode = ["--peering", peering] if peering else ["--standalone"]
    args = ["run", *mode, "--namespace", namespace, "-m", "leadscore.operator.handlers"]
    with KopfRunner(args, timeout=60) as runner:
        from leadscore.operator.handlers import INTERVALS

        assert INTERVALS.poll_seconds <= 2, "handlers were imported before the test env was set"
        yield runner
    assert runner.exception is None, runner.output
    assert runner.exit_code == 0, runner.output


class SummaryServer:
    """Plays the collector's summary endpoint; ``summaries[(ns, name)]`` is served as JSON."""

    def __init__(self) -> None:
        self.summaries: dict[tuple[str, str], dict[str, Any]] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                parts = self.path.partition("?")[0].strip("/").split("/")
                found = None
                if len(parts) == 5 and parts[:2] == ["v1", "experiments"] and parts[4] == "summary":
                    found = server.summaries.get((parts[2], parts[3]))
                body = json.dumps(found or {"detail": "unknown experiment"}).encode()
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


def consistently(probe: Callable[[], bool], *, what: str, duration: float = 3.0) -> None:
    """``probe`` stays true for ``duration`` seconds (e.g. no second Job appears over several ticks)."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        assert probe(), f"{what} stopped holding"
        time.sleep(0.2)


# LeadScoringModel scenarios shared by the model and experiment tests --------------------------

LSM = "leadscoringmodels"


def model(name="m", **spec_changes):
    spec = {"vertical": "health", "dataset": {"uri": "s3://leads/health.parquet", "timeColumn": "created_at"},
            "training": {"algorithms": ["lr", "xgboost"], "trials": 3}, "retention": {"keepVersions": 10}}
    spec.update(spec_changes)
    return {"apiVersion": "leadscoring.io/v1alpha1", "kind": "LeadScoringModel",
            "metadata": {"name": name}, "spec": spec}


TIERS = [TierCutoff(tier="high", min_score=41, top_percent=5, held_out_percent=5.2),
         TierCutoff(tier="very_low", min_score=0, held_out_percent=50.6)]
"""Cut-offs a trainer resolved on its held-out scores (the result carries them to status)."""


def result_message(cluster, name, version, auc):
    uri = f"s3://bucket/{cluster.namespace}/{name}/{version}/"
    return TrainingResult(status="Succeeded", model_name=name, version=version, artifact_uri=uri,
                          metrics={"roc_auc": auc, "pr_auc": 0.4}, mlflow_run_id=f"run-{version}",
                          shipped="ensemble", tiers=TIERS).to_termination_message()


def finish_training(cluster, name, version, *, auc=0.8, succeeded=True, message=None, exit_code=None):
    """Play the kubelet: the Job's pod exits with the trainer's termination message."""
    job = f"{name}-train-{version}"
    pods = eventually(lambda: job_pods(cluster.core, cluster.namespace, job), what=f"pod of job {job}")
    text = message if message is not None else result_message(cluster, name, version, auc)
    finish_pod(cluster.core, pods[0], succeeded=succeeded, message=text, exit_code=exit_code)


def version_recorded(cluster, name, version):
    return next((v for v in cluster.status(LSM, name).get("versions", []) if v["version"] == version), None)


def condition(cluster, name, type_, plural=LSM):
    return next((c for c in cluster.status(plural, name).get("conditions", []) if c["type"] == type_), None)


def trained(cluster, name, version, auc=0.8):
    eventually(lambda: cluster.status(LSM, name).get("training", {}).get("version") == version,
               what=f"training {version} started", timeout=60)
    finish_training(cluster, name, version, auc=auc)
    return eventually(lambda: version_recorded(cluster, name, version), what=f"{version} recorded",
                      timeout=60)


def retrain(cluster, name, token):
    cluster.patch(LSM, name, {"metadata": {"annotations": {"leadscoring.io/retrain": token}}})


def predictor_pod(cluster, name):
    """The newest pod of model ``name``'s predictor Deployment (made by KServe, then the
    ReplicaSet controller; KServe's pod webhook added the storage initializer and agent)."""
    def newest():
        pods = cluster.core.list_namespaced_pod(cluster.namespace, label_selector=f"app=isvc.{name}-predictor").items
        return max(pods, key=lambda p: p.metadata.creation_timestamp, default=None)

    return eventually(newest, what=f"a {name}-predictor pod", timeout=90)

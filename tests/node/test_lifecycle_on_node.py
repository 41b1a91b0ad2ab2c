"""The whole lifecycle on the real node, the way a platform team runs it (README, "Install with Helm").

`helm install` of the chart with its bundled MinIO, PostgreSQL and MLflow (on the images
hack/images.sh builds: MinIO from hack/build-minio.sh, PostgreSQL and MLflow from hack/images/;
PostgreSQL keeps its data on a PersistentVolume the test provides, bound by the control plane's
PV binder), with the real KServe controller running beside the node (``running_kserve`` against
the node's apiserver; its webhooks inject the storage initializer and the logger agent built
here). Then a LeadScoringModel is applied in a model
namespace that enforces Pod Security `restricted`, and everything after that is done by the pods:

- the operator pod's training Job trains v1 from the bundled MinIO; the operator pod is killed
  mid-training and its replacement adopts the running Job (no second Job) and records the version;
- KServe makes the predictor Deployment from the operator's InferenceService; its storage
  initializer downloads v1 and the pod turns Ready; leads are scored through the predictor's
  Service, and KServe's logger agent delivers each request and response to the collector pod;
- a retrain annotation trains v2; a sticky ABExperiment (v1 control, v2 treatment) is rendered into
  the InferenceService, 4 000 leads are scored through the Service, the sales floor's outcomes are
  posted to the collector with a Kubernetes token of a CRM ServiceAccount while the collector pod and
  then the PostgreSQL pod are killed (every batch retried until acknowledged; the database, read
  through its Service, holds every acknowledged outcome;
  the operator is scaled to 0 meanwhile, so it decides on all of them), and the operator's timer
  concludes the experiment from the collector's summary and promotes v2;
- deleting the model garbage-collects its Jobs, the InferenceService, the Deployment and the pods.

The scenario (data, experiment, sales floor) is support/lifecycle.py's.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest
from release import IMAGE_VALUES, NAMESPACE, RELEASE, helm_install, uninstall

from leadscore.api.results import registered_model_name
from leadscore.data import synth
from support.cluster import Cluster
from support.kserve import INGRESS_DOMAIN, KServe, running_kserve
from support.lifecycle import (
    EARLY_EXPORT,
    EXPERIMENT,
    HISTORY_ROWS,
    INCOMING_ROWS,
    MODEL,
    SEED,
    ab_experiment,
    lead_scoring_model,
    records,
    sales_floor,
)
from support.node import deployment_available, pod_report
from support.polling import eventually

pytestmark = [pytest.mark.node, pytest.mark.kserve, pytest.mark.e2e, pytest.mark.slow]

MODELS = "sales"
"""The model namespace (modelNamespaces.names): the chart writes its S3/MLflow settings and
ServiceAccounts there; Jobs and predictors run there."""
LSM, ABX = "leadscoringmodels", "abexperiments"
BUNDLED_VALUES = (
    "minio.image.repository=docker.io/leadscore/minio", "minio.image.tag=dev",
    "mlflow.image.repository=docker.io/leadscore/mlflow", "mlflow.image.tag=dev",
    "postgresql.image.repository=docker.io/leadscore/postgresql", "postgresql.image.tag=dev",
    "postgresql.persistence.enabled=true",
)
"""The chart's bundled servers on the images hack/images.sh builds (upstream's cannot be pulled)."""
DATABASE_CLAIM = f"{RELEASE}-postgresql"
"""The bundled PostgreSQL's PersistentVolumeClaim (the chart's leadscore.dataClaim)."""
POSTGRES_UID = 999
DATA_BUCKET, DATA_KEY = "leadscore-data", "pc/leads.csv"
PREDICTOR = f"{MODEL}-predictor"
"""KServe's name for the InferenceService's Deployment and Service (Standard mode)."""
KSERVE_IMAGES = {"storageInitializer": "docker.io/leadscore/storage-initializer:dev",
                 "agent": "docker.io/leadscore/agent:dev", "logger": "docker.io/leadscore/agent:dev",
                 "batcher": "docker.io/leadscore/agent:dev"}
"""KServe's own images as hack/images.sh builds them (upstream's ``kserve/...:latest`` cannot be pulled)."""
OUTCOME_BATCH = 500
MODEL_NAMESPACE_LABELS = {"pod-security.kubernetes.io/enforce": "restricted"}
"""Item 3 of the node's issue: Jobs and predictor pods are admitted under Pod Security `restricted`."""
T = TypeVar("T")


@pytest.fixture(scope="module")
def node_kserve(node_cluster: Any, kserve_install: Any) -> Iterator[KServe]:
    """The real KServe controller against the node's apiserver (a process beside the node, as in
    the ``kserve`` fixture); the chart registers the runtime."""
    workdir = Path(tempfile.mkdtemp(prefix="leadscore-node-kserve-"))
    with running_kserve(node_cluster.plane.kubeconfig, kserve_install, workdir, images=KSERVE_IMAGES) as kserve:
        yield kserve


def database_volume(api: Any, stack: ExitStack) -> None:
    """A hostPath PersistentVolume reserved for the bundled PostgreSQL's claim (the node's one disk;
    the directory belongs to the image's postgres user), removed with its claim when ``stack``
    closes: the claim outlives `helm uninstall` (helm.sh/resource-policy: keep)."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    directory = Path(tempfile.mkdtemp(prefix="leadscore-node-pv-"))
    stack.callback(shutil.rmtree, directory, ignore_errors=True)
    (directory / "data").mkdir()
    os.chown(directory / "data", POSTGRES_UID, POSTGRES_UID)
    name = f"{NAMESPACE}-{DATABASE_CLAIM}"
    core.create_persistent_volume({
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
        "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"],
                 "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                 "claimRef": {"namespace": NAMESPACE, "name": DATABASE_CLAIM},
                 "hostPath": {"path": str(directory / "data"), "type": "Directory"}}})

    def remove() -> None:
        with contextlib.suppress(client.exceptions.ApiException):
            core.delete_namespaced_persistent_volume_claim(DATABASE_CLAIM, NAMESPACE)
        with contextlib.suppress(client.exceptions.ApiException):
            core.delete_persistent_volume(name)

        def gone() -> bool:
            try:
                core.read_persistent_volume(name)
            except client.exceptions.ApiException as error:
                return error.status == 404
            return False

        eventually(gone, what=f"the PersistentVolume {name} deleted", timeout=120)

    stack.callback(remove)


def database_url(api: Any, node: Any, deployment: str) -> str:
    """SQLAlchemy URL of the bundled PostgreSQL through its Service (credentials from its Secret)."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    env = {e.name: e for e in client.AppsV1Api(api).read_namespaced_deployment(
        deployment, NAMESPACE).spec.template.spec.containers[0].env}
    reference = env["POSTGRES_PASSWORD"].value_from.secret_key_ref
    password = base64.b64decode(core.read_namespaced_secret(reference.name, NAMESPACE).data[reference.key]).decode()
    return (f"postgresql+psycopg://{env['POSTGRES_USER'].value}:{password}@127.0.0.1:"
            f"{service_port(api, node, NAMESPACE, deployment)}/{env['POSTGRES_DB'].value}")


def mlflow_get(api: Any, node: Any, deployment: str, path: str, **params: str) -> dict[str, Any]:
    """GET ``/api/2.0/mlflow/<path>`` of the bundled MLflow through its Service, with the Service's
    name as Host (the server refuses other Host headers)."""
    from kubernetes import client

    service = client.CoreV1Api(api).read_namespaced_service(deployment, NAMESPACE)
    answer = httpx.get(f"http://127.0.0.1:{service_port(api, node, NAMESPACE, deployment)}/api/2.0/mlflow/{path}",
                       params=params, timeout=30,
                       headers={"Host": f"{deployment}.{NAMESPACE}.svc:{service.spec.ports[0].port}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


class Explain:
    """Waits that, when they fail, say what the node saw: pods, events, operator and KServe logs."""

    def __init__(self, api: Any, node: Any, kserve: KServe) -> None:
        self.api, self.node, self.kserve = api, node, kserve

    def report(self) -> str:
        from kubernetes import client

        core = client.CoreV1Api(self.api)
        parts = [pod_report(self.api, ns) for ns in (NAMESPACE, MODELS)]
        for ns in (NAMESPACE, MODELS):
            for pod in core.list_namespaced_pod(ns).items:
                parts.append(self.node.pod_log(ns, pod.metadata.name, chars=2500))
        parts.append("== kserve manager\n" + self.kserve.process.log_tail(3000))
        return "\n".join(parts)

    def until(self, probe: Callable[[], T | None], what: str, timeout: float = 300, interval: float = 2) -> T:
        try:
            return eventually(probe, what=what, timeout=timeout, interval=interval)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.report()}") from None


def crm_token(api: Any, namespace: str) -> str:
    """A token of a CRM ServiceAccount bound to the chart's crm-writer and crm-reader ClusterRoles
    in ``namespace`` (what docs/install.md tells a CRM team to do)."""
    from kubernetes import client

    core, rbac = client.CoreV1Api(api), client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "crm"}})
    for role in ("crm-writer", "crm-reader"):
        rbac.create_namespaced_role_binding(namespace, {
            "metadata": {"name": f"crm-{role}"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"leadscore-{role}"},
            "subjects": [{"kind": "ServiceAccount", "name": "crm", "namespace": namespace}]})
    request = core.create_namespaced_service_account_token("crm", namespace, {"spec": {"expirationSeconds": 3600}})
    return request.status.token


def scale(api: Any, deployment: str, replicas: int) -> None:
    from kubernetes import client

    client.AppsV1Api(api).patch_namespaced_deployment_scale(deployment, NAMESPACE, {"spec": {"replicas": replicas}})


def service_port(api: Any, node: Any, namespace: str, name: str) -> int:
    """A host port that reaches Service ``name`` (its first port) through kube-proxy in the node."""
    from kubernetes import client

    service = client.CoreV1Api(api).read_namespaced_service(name, namespace)
    return node.forward(service.spec.cluster_ip, service.spec.ports[0].port)


def rolled_out(api: Any, namespace: str, name: str) -> bool:
    """Deployment ``name`` has finished its rollout: every replica updated and available, no old pod left."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        deployment = client.AppsV1Api(api).read_namespaced_deployment(name, namespace)
    except ApiException:
        return False
    status, wanted = deployment.status, deployment.spec.replicas
    return bool(status.observed_generation == deployment.metadata.generation and wanted
                and status.updated_replicas == wanted and status.available_replicas == wanted
                and status.replicas == wanted)


def predictor_pods(cluster: Cluster) -> list[Any]:
    return cluster.core.list_namespaced_pod(MODELS, label_selector=f"serving.kserve.io/inferenceservice={MODEL}").items


def served_env(pod: Any) -> dict[str, str]:
    """The predictor container's literal env in a pod KServe made."""
    server = next(c for c in pod.spec.containers if c.name == "kserve-container")
    return {e.name: e.value for e in server.env or () if e.value is not None}


def isvc_env(isvc: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in isvc["spec"]["predictor"]["model"].get("env", [])}


def isvc_ready(isvc: dict[str, Any] | None) -> bool:
    conditions = ((isvc or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def post_until_acknowledged(url: str, headers: dict[str, str], outcomes: list[dict[str, Any]],
                            timeout: float = 180) -> dict[str, Any]:
    """POST ``outcomes`` until the collector acknowledges them (200), as a CRM retries: while a
    collector pod is replaced the Service refuses or drops connections. Reposting is safe: the
    collector skips outcomes it already stored (idempotency keys)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = httpx.post(url, json={"outcomes": outcomes}, headers=headers, timeout=60)
            if answer.status_code == 200:
                return answer.json()
            error = f"{answer.status_code}: {answer.text[:300]}"
        except httpx.TransportError as exc:
            error = repr(exc)
        if time.monotonic() > deadline:
            raise AssertionError(f"outcomes not acknowledged within {timeout:.0f} s: {error}")
        time.sleep(1)


def outcome_count(database_url: str, namespace: str) -> int:
    """Outcomes the event store holds for ``namespace`` (read from the database itself)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM outcomes WHERE namespace = :ns"),
                                          {"ns": namespace}).scalar_one())
    finally:
        engine.dispose()


def reachable_count(database_url: str, namespace: str) -> int | None:
    """``outcome_count``, or None while the database cannot be reached (kube-proxy may still
    refuse a Service whose endpoint just became ready)."""
    from sqlalchemy.exc import OperationalError

    try:
        return outcome_count(database_url, namespace)
    except OperationalError:
        return None


def predict(port: int, leads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """V1 ``:predict`` through the predictor's Service (KServe's agent in front of the predictor)."""
    response = httpx.post(f"http://127.0.0.1:{port}/v1/models/{MODEL}:predict", json={"instances": leads},
                          timeout=120)
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def test_a_model_applied_after_helm_install_trains_serves_runs_an_experiment_and_is_collected(
        node_cluster: Any, node_kserve: KServe, helm_bin: Path) -> None:
    from kubernetes import client
    from minio import Minio

    node, kubeconfig = node_cluster.node, node_cluster.plane.kubeconfig
    node.load("operator", "collector", "minio", "postgresql", "mlflow", "trainer")
    with node_cluster.plane.api_client() as api, ExitStack() as stack:
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        explain = Explain(api, node, node_kserve)
        cluster = Cluster(api, MODELS)
        for namespace, labels in ((NAMESPACE, {}), (MODELS, MODEL_NAMESPACE_LABELS)):
            with contextlib.suppress(client.exceptions.ApiException):  # the chart test may have made NAMESPACE
                core.create_namespace({"metadata": {"name": namespace, "labels": labels}})
        stack.callback(lambda: core.delete_namespace(MODELS, grace_period_seconds=0))

        # --- helm install: bundled MinIO, PostgreSQL (on a PersistentVolume) and MLflow --------
        database_volume(api, stack)
        values = [*BUNDLED_VALUES, f"modelNamespaces.names={{{MODELS}}}",
                  "operator.intervals.pollSeconds=2", "operator.intervals.experimentSeconds=5",
                  *IMAGE_VALUES]
        done = helm_install(helm_bin, kubeconfig, values)
        stack.callback(uninstall, api, helm_bin, kubeconfig)
        assert done.returncode == 0, f"{done.stderr}\n{explain.report()}"
        deployments = {d.metadata.labels.get("app.kubernetes.io/component"): d.metadata.name
                       for d in apps.list_namespaced_deployment(NAMESPACE).items}
        for component in ("minio", "postgresql", "mlflow", "collector", "operator"):
            explain.until(lambda name=deployments[component]: deployment_available(api, NAMESPACE, name),
                          what=f"the {component} Deployment Available")

        # --- the data in the bundled MinIO, through its Service --------------------------------
        credentials = core.read_namespaced_secret(deployments["minio"], NAMESPACE).data
        access, secret = (base64.b64decode(credentials[k]).decode() for k in ("accessKey", "secretKey"))
        s3 = Minio(f"127.0.0.1:{service_port(api, node, NAMESPACE, deployments['minio'])}", access_key=access,
                   secret_key=secret, secure=False)
        s3.make_bucket(DATA_BUCKET)
        history = synth.generate("pc", HISTORY_ROWS, SEED)
        incoming = synth.generate("pc", INCOMING_ROWS, SEED + 1)  # the CRM's new leads, another sample

        def upload(frame: Any) -> str:
            body = frame.to_csv(index=False).encode()
            s3.put_object(DATA_BUCKET, DATA_KEY, io.BytesIO(body), len(body))
            return f"s3://{DATA_BUCKET}/{DATA_KEY}"

        dataset_uri = upload(synth.drop_ground_truth(history)[EARLY_EXPORT])

        node.load("storage-initializer", "agent", "predictor")  # KServe's pod for v1 comes next

        # --- v1: the operator pod's Job trains; the operator pod is killed mid-training ---------
        cluster.create(LSM, lead_scoring_model(dataset_uri))
        job = explain.until(lambda: next(iter(cluster.jobs(MODEL)), None), what="the training Job of v1")
        assert job.metadata.name == f"{MODEL}-train-v1"
        assert job.spec.template.spec.containers[0].image == "docker.io/leadscore/trainer:dev"
        phase = explain.until(lambda: next((p.status.phase for p in cluster.core.list_namespaced_pod(
            MODELS, label_selector=f"job-name={job.metadata.name}").items if p.status.phase != "Pending"), None),
            what="the trainer pod started")
        assert phase == "Running", f"the trainer pod is {phase} already\n{explain.report()}"
        operator_selector = "app.kubernetes.io/component=operator"
        killed = core.list_namespaced_pod(NAMESPACE, label_selector=operator_selector).items[0].metadata.name
        core.delete_namespaced_pod(killed, NAMESPACE, grace_period_seconds=0)
        explain.until(lambda: any(p.metadata.name != killed and any(c.ready for c in p.status.container_statuses or ())
                                  for p in core.list_namespaced_pod(NAMESPACE, label_selector=operator_selector).items),
                      what="the replacement operator pod Ready")
        v1 = explain.until(lambda: next((v for v in cluster.status(LSM, MODEL).get("versions", [])
                                         if v["version"] == "v1"), None), what="v1 recorded", timeout=900)
        assert [(j.metadata.name, j.metadata.uid) for j in cluster.jobs(MODEL)] == [
            (job.metadata.name, job.metadata.uid)], "the replacement operator started a second Job"
        stored = {o.object_name.rsplit("/", 1)[-1] for o in s3.list_objects(
            urlsplit(v1["artifactUri"]).netloc, prefix=urlsplit(v1["artifactUri"]).path.lstrip("/"), recursive=True)}
        assert {"model.onnx", "feature_spec.json", "model_card.json"} <= stored
        mlflow = deployments["mlflow"]
        run = mlflow_get(api, node, mlflow, "runs/get", run_id=v1["mlflowRunId"])["run"]
        assert run["info"]["status"] == "FINISHED"
        registered = mlflow_get(api, node, mlflow, "model-versions/search",
                                filter=f"name='{registered_model_name(MODELS, MODEL)}'")["model_versions"]
        assert [{t["key"]: t["value"] for t in m.get("tags", [])}.get("leadscore.version") for m in registered
                if m["run_id"] == v1["mlflowRunId"]] == ["v1"], registered

        # --- v1 served: KServe's Deployment, storage initializer, Ready, scored via the Service --
        explain.until(lambda: cluster.status(LSM, MODEL).get("activeVersion") == "v1", what="v1 active")
        isvc = explain.until(lambda: (i := cluster.isvc(MODEL)) and isvc_ready(i) and i,
                             what="the InferenceService Ready (KServe's predictor pod Ready)", timeout=600)
        assert isvc["metadata"]["ownerReferences"][0]["name"] == MODEL
        explain.until(lambda: rolled_out(api, MODELS, PREDICTOR), what="the predictor Deployment rolled out")
        pod = predictor_pods(cluster)[0]
        assert [c.name for c in pod.spec.init_containers] == ["storage-initializer"]
        assert {c.name for c in pod.spec.containers} == {"kserve-container", "agent"}
        explain.until(lambda: cluster.status(LSM, MODEL).get("phase") == "Ready", what="the model Ready")
        assert cluster.status(LSM, MODEL)["endpoint"] == f"http://{MODEL}-{MODELS}.{INGRESS_DOMAIN}"  # from KServe
        predictor_port = service_port(api, node, MODELS, PREDICTOR)
        leads = records(incoming)
        scored = predict(predictor_port, leads[:25])
        assert [p["lead_id"] for p in scored] == [lead["lead_id"] for lead in leads[:25]]
        assert {p["model_version"] for p in scored} == {"v1"}
        assert all(0.0 <= p["probability"] <= 1.0 for p in scored)
        assert {p["tier"] for p in scored} - {"very_low"}, "spec.scoring tiers did not reach the predictor"

        # the logger agent delivered the request and response to the collector pod
        collector = f"http://127.0.0.1:{service_port(api, node, NAMESPACE, deployments['collector'])}"
        token = crm_token(api, MODELS)
        headers = {"Authorization": f"Bearer {token}"}

        def logged(lead_id: str) -> list[dict[str, Any]]:
            answer = httpx.get(f"{collector}/v1/namespaces/{MODELS}/leads/{lead_id}", headers=headers, timeout=30)
            assert answer.status_code in (200, 404), answer.text
            return answer.json()["predictions"] if answer.status_code == 200 else []

        history_of_first = explain.until(lambda: logged(scored[0]["lead_id"]),
                                         what="the collector's record of a scored lead (KServe's logger agent)",
                                         timeout=120)
        assert history_of_first[0]["model_version"] == "v1"
        assert history_of_first[0]["inference_service"] == MODEL

        # --- v2 from the full export; a sticky A/B test decided by the sales floor's outcomes ----
        cluster.patch(LSM, MODEL, {"spec": {"promotion": {"autoRollout": False}}})
        upload(synth.drop_ground_truth(history))
        cluster.patch(LSM, MODEL, {"metadata": {"annotations": {"leadscoring.io/retrain": "full-export"}}})
        explain.until(lambda: any(v["version"] == "v2" for v in cluster.status(LSM, MODEL).get("versions", [])),
                      what="v2 recorded", timeout=900)
        assert cluster.status(LSM, MODEL)["activeVersion"] == "v1"
        roc_auc = {v["version"]: v["metrics"]["roc_auc"] for v in cluster.status(LSM, MODEL)["versions"]}
        assert roc_auc["v2"] > roc_auc["v1"] + 0.05, roc_auc  # the full export beats the early one
        cluster.create(ABX, ab_experiment())
        explain.until(lambda: isvc_env(cluster.isvc(MODEL) or {"spec": {"predictor": {"model": {}}}}).get(
            "LEADSCORE_AB_EXPERIMENT") == EXPERIMENT, what="the experiment rendered into the InferenceService")
        explain.until(lambda: rolled_out(api, MODELS, PREDICTOR) and all(
            served_env(p).get("LEADSCORE_AB_EXPERIMENT") == EXPERIMENT for p in predictor_pods(cluster)),
            what="the A/B predictor rolled out", timeout=600)
        predictions: list[dict[str, Any]] = []
        for start in range(0, len(leads), 500):
            predictions += predict(predictor_port, leads[start:start + 500])
        assert {(p["arm"], p["model_version"]) for p in predictions} == {("control", "v1"), ("treatment", "v2")}
        again = predict(predictor_port, leads[:50])
        assert [p["arm"] for p in again] == [p["arm"] for p in predictions[:50]]  # sticky

        # the agent logs asynchronously: every batch reaches the collector before outcomes decide
        sample = [p["lead_id"] for p in predictions[::250]]
        explain.until(lambda: all(any(s.get("experiment") == EXPERIMENT for s in logged(lead)) for lead in sample),
                      what="the A/B predictions logged to the collector", timeout=180)

        # the CRM posts the sales floor's outcomes in batches; the collector pod is killed after the
        # third batch and the PostgreSQL pod after the fifth: each batch is retried until
        # acknowledged, and none acknowledged is lost. The operator is scaled to 0 meanwhile, so
        # that it decides on all of them (not on the first batches).
        truth = dict(zip(incoming["lead_id"], incoming["true_probability"], strict=True))
        outcomes = sales_floor(predictions, truth)
        scale(api, deployments["operator"], 0)
        explain.until(lambda: not core.list_namespaced_pod(NAMESPACE, label_selector=operator_selector).items,
                      what="the operator scaled to 0")
        victims = {3: "app.kubernetes.io/component=collector", 5: "app.kubernetes.io/component=postgresql"}
        killed = {}
        acknowledged = set()
        for index, start in enumerate(range(0, len(outcomes), OUTCOME_BATCH)):
            if index in victims:
                pod = core.list_namespaced_pod(NAMESPACE, label_selector=victims[index]).items[0].metadata.name
                core.delete_namespaced_pod(pod, NAMESPACE, grace_period_seconds=0)
                killed[victims[index]] = pod
            batch = outcomes[start:start + OUTCOME_BATCH]
            answer = post_until_acknowledged(f"{collector}/v1/namespaces/{MODELS}/outcomes", headers, batch)
            assert answer["received"] == answer["stored"] + answer["duplicates"] == len(batch), answer
            acknowledged |= {o["lead_id"] for o in batch}
        for selector, pod in killed.items():
            assert pod not in {p.metadata.name for p in core.list_namespaced_pod(
                NAMESPACE, label_selector=selector).items}, f"{pod} was not replaced"
        # the killed PostgreSQL may outlive its deletion by a moment and finish what it acknowledged;
        # its replacement opens the same volume. Count once the replacement serves the Service.
        explain.until(lambda: rolled_out(api, NAMESPACE, deployments["postgresql"]),
                      what="the replaced PostgreSQL ready", timeout=180)
        database = database_url(api, node, deployments["postgresql"])  # one Secret read, one relay
        stored = explain.until(lambda: reachable_count(database, MODELS),
                               what="the outcomes counted in PostgreSQL through its Service", timeout=60)
        assert len(acknowledged) == len(outcomes) == stored
        scale(api, deployments["operator"], 1)

        concluded = explain.until(lambda: (s := cluster.status(ABX, EXPERIMENT)).get("phase") == "Concluded" and s,
                                  what="the experiment Concluded", timeout=300)
        assert concluded["decision"] == "promote", concluded
        assert concluded["pValue"] < 0.05 and concluded["liftLower"] > 0, concluded
        arm_of = {p["lead_id"]: p["arm"] for p in predictions}
        for arm, version in (("control", "v1"), ("treatment", "v2")):
            assert concluded[arm]["version"] == version
            assert concluded[arm]["exposures"] == sum(p["arm"] == arm for p in predictions)
            assert concluded[arm]["conversions"] == sum(o["converted"] and arm_of[o["lead_id"]] == arm
                                                        for o in outcomes)
        explain.until(lambda: cluster.status(LSM, MODEL).get("activeVersion") == "v2", what="v2 promoted")
        explain.until(lambda: rolled_out(api, MODELS, PREDICTOR) and not any(
            "LEADSCORE_AB_EXPERIMENT" in served_env(p) for p in predictor_pods(cluster)),
            what="v2 alone rolled out", timeout=600)
        assert {p["model_version"] for p in predict(predictor_port, leads[:20])} == {"v2"}

        # --- deleting the model collects its Jobs, InferenceService, Deployment and pods --------
        cluster.delete(ABX, EXPERIMENT)
        cluster.delete(LSM, MODEL)
        explain.until(lambda: cluster.get(LSM, MODEL) is None, what="the model deleted (finalizer released)")
        explain.until(lambda: cluster.isvc(MODEL) is None, what="the InferenceService collected")
        explain.until(lambda: not cluster.jobs(MODEL), what="the training Jobs collected")
        trainers = f"leadscoring.io/model={MODEL}"
        explain.until(lambda: not cluster.core.list_namespaced_pod(MODELS, label_selector=trainers).items
                      and not predictor_pods(cluster), what="the training and predictor pods collected")
        assert not apps.list_namespaced_deployment(MODELS).items

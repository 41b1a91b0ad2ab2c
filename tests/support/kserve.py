"""The real KServe controller (``manager``, hack/build-kserve.sh) on a test control plane.

``running_kserve`` does on any apiserver what KServe's own install does, minus the Pod and
cert-manager: KServe's CRDs (``config/crd/full``, Established before the manager starts), the
``inferenceservice-config`` ConfigMap in namespace ``kserve`` (upstream's, with the deployment
mode chosen here), the manager out of cluster with its webhook server's certificate from a
test CA, KServe's mutating and validating webhooks pointed at it by ``clientConfig.url``, and
the ClusterServingRuntimes the caller passes (admitted by KServe's own runtime validator).
Teardown removes the webhooks first (a dead ``failurePolicy: Fail`` webhook would block every
later InferenceService and Pod), then stops the manager by PID.

Composable: it takes a kubeconfig and a directory, not a pytest fixture, so a test cluster with
a real node (kubelet, containerd) can run the same controller on its own control plane.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from support.cluster import install_crds
from support.pki import CertificateAuthority
from support.processes import ServerProcess, free_port, http_ok, start_process, wait_until

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

KSERVE_NAMESPACE = "kserve"
CONFIG_MAP = "inferenceservice-config"
STANDARD, KNATIVE = "Standard", "Knative"
INGRESS_DOMAIN = "example.com"
"""The test install's ingress: a Kubernetes Ingress per InferenceService (what KServe makes in
Standard mode when the Gateway API is off), host ``<name>-<namespace>.example.com``; no ingress
controller runs, so the Ingress is only an object, and the URL KServe reports is its host."""


@dataclass(frozen=True)
class KServeInstall:
    """The pinned build (hack/build-kserve.sh): ``manager``, ``agent`` and upstream's ``config/``."""

    directory: Path

    @property
    def manager(self) -> Path:
        return self.directory / "manager"

    @property
    def crd_files(self) -> list[Path]:
        return sorted((self.directory / "config" / "crd").rglob("*.yaml"))

    @property
    def missing(self) -> list[str]:
        wanted = [self.manager, self.directory / "agent",
                  self.directory / "config" / "configmap" / "inferenceservice.yaml",
                  self.directory / "config" / "webhook" / "manifests.yaml"]
        return [str(p) for p in wanted if not p.is_file()]

    def config_map(self, deployment_mode: str = STANDARD, images: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Upstream's ``inferenceservice-config``, with ``deployment_mode`` as the default mode
        and the test ingress (see INGRESS_DOMAIN); ``images`` replaces the image of sections
        (``storageInitializer``, ``agent``, ``logger``, ``batcher``): a node that cannot pull
        ``kserve/...:latest`` runs locally built ones."""
        path = self.directory / "config" / "configmap" / "inferenceservice.yaml"
        document = yaml.safe_load(path.read_text())
        data = document["data"]
        data.pop("_example", None)
        data["deploy"] = json.dumps({"defaultDeploymentMode": deployment_mode})
        for section, image in (images or {}).items():
            data[section] = json.dumps({**json.loads(data[section]), "image": image})
        ingress = json.loads(data["ingress"])
        ingress.update(enableGatewayApi=False, ingressDomain=INGRESS_DOMAIN, disableIngressCreation=False)
        data["ingress"] = json.dumps(ingress)
        document["metadata"] = {"name": CONFIG_MAP, "namespace": KSERVE_NAMESPACE}
        return document

    def webhooks(self, url: str, ca_pem: bytes) -> list[dict[str, Any]]:
        """KServe's webhook configurations with each ``clientConfig.service`` replaced by
        ``url`` + its path, trusting ``ca_pem``."""
        path = self.directory / "config" / "webhook" / "manifests.yaml"
        out = []
        for document in yaml.safe_load_all(path.read_text()):
            if not document:
                continue
            document = copy.deepcopy(document)
            document["metadata"] = {"name": document["metadata"]["name"]}
            for hook in document["webhooks"]:
                service = hook["clientConfig"].pop("service")
                hook["clientConfig"] = {"url": url.rstrip("/") + service["path"],
                                        "caBundle": base64.b64encode(ca_pem).decode()}
            out.append(document)
        return out


@dataclass
class KServe:
    """A running KServe controller: its process (log ``<workdir>/manager.log``, removed with the
    workdir at teardown, as the control plane's logs are) and install."""

    install: KServeInstall
    process: ServerProcess
    webhook_url: str
    deployment_mode: str


def _create(api: ApiClient, body: dict[str, Any]) -> None:
    from kubernetes import utils

    utils.create_from_dict(api, body)


def _delete_webhooks(api: ApiClient, webhooks: Sequence[dict[str, Any]]) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    admission = client.AdmissionregistrationV1Api(api)
    for hook in webhooks:
        delete = (admission.delete_mutating_webhook_configuration
                  if hook["kind"] == "MutatingWebhookConfiguration"
                  else admission.delete_validating_webhook_configuration)
        with contextlib.suppress(ApiException):
            delete(hook["metadata"]["name"])


def _serving_cert_dir(workdir: Path, ca: CertificateAuthority) -> Path:
    """controller-runtime's default certificate directory under a private TMPDIR."""
    tmp = workdir / "tmp"
    certs = tmp / "k8s-webhook-server" / "serving-certs"
    certs.mkdir(parents=True, mode=0o700)
    pair = ca.serving_pair("kserve-webhook-server", ["127.0.0.1", "localhost"])
    (certs / "tls.crt").write_bytes(pair.cert_pem)
    (certs / "tls.key").write_bytes(pair.key_pem)
    (certs / "tls.key").chmod(0o600)
    return tmp


@contextmanager
def running_kserve(kubeconfig: Path, install: KServeInstall, workdir: Path, *,
                   runtimes: Sequence[dict[str, Any]] = (), deployment_mode: str = STANDARD,
                   images: Mapping[str, str] | None = None, timeout: float = 300.0) -> Iterator[KServe]:
    """Install KServe on the apiserver of ``kubeconfig`` and run its manager; undo it after.
    ``images``: see ``KServeInstall.config_map``.

    CRDs stay installed (other tests may hold objects of those kinds); the ConfigMap, the
    ``kserve`` namespace, the webhooks and ``runtimes`` are removed.
    """
    from kubernetes import client, config

    with ExitStack() as stack:
        workdir.mkdir(parents=True, exist_ok=True)
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        api = stack.enter_context(config.new_client_from_config(config_file=str(kubeconfig)))
        install_crds(api, install.crd_files)
        core = client.CoreV1Api(api)
        with contextlib.suppress(client.exceptions.ApiException):  # already there: keep it
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=KSERVE_NAMESPACE)))
        core.create_namespaced_config_map(KSERVE_NAMESPACE, install.config_map(deployment_mode, images))
        stack.callback(core.delete_namespaced_config_map, CONFIG_MAP, KSERVE_NAMESPACE)

        ca = CertificateAuthority("kserve-webhook-test-ca")
        tmp = _serving_cert_dir(workdir, ca)
        probe, metrics, webhook = free_port(), free_port(), free_port()
        env = {**os.environ, "KUBECONFIG": str(kubeconfig), "POD_NAMESPACE": KSERVE_NAMESPACE,
               "TMPDIR": str(tmp)}
        args = [install.manager, "--metrics-addr", f"127.0.0.1:{metrics}",
                "--health-probe-addr", f"127.0.0.1:{probe}", "--webhook-port", str(webhook)]
        process = start_process("kserve-manager", args, workdir / "manager.log", env=env)
        stack.callback(process.stop)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{probe}/readyz"), what="KServe manager /readyz",
                   timeout=timeout, process=process)

        webhook_url = f"https://127.0.0.1:{webhook}"
        hooks = install.webhooks(webhook_url, ca.cert_pem)
        stack.callback(_delete_webhooks, api, hooks)  # registered before the manager stops
        for hook in hooks:
            _create(api, hook)
        custom = client.CustomObjectsApi(api)
        for runtime in runtimes:
            name = runtime["metadata"]["name"]
            _admitted(lambda runtime=runtime: custom.create_cluster_custom_object(
                "serving.kserve.io", "v1alpha1", "clusterservingruntimes", runtime),
                what=f"ClusterServingRuntime {name}", timeout=timeout)
            stack.callback(custom.delete_cluster_custom_object, "serving.kserve.io", "v1alpha1",
                           "clusterservingruntimes", name)
        yield KServe(install=install, process=process, webhook_url=webhook_url,
                     deployment_mode=deployment_mode)


def _admitted(create: Any, *, what: str, timeout: float) -> None:
    """Create through a webhook that has just been registered: the apiserver may answer
    'connection refused' / 'no endpoints' for a moment; anything else is raised."""
    from kubernetes.client.exceptions import ApiException

    from support.polling import eventually

    def attempt() -> bool:
        try:
            create()
        except ApiException as exc:
            if exc.status == 500 and "failed calling webhook" in str(exc.body):
                return False
            raise
        return True

    eventually(attempt, what=f"{what} admitted", timeout=min(timeout, 60))

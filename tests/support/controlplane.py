"""A Kubernetes control plane on loopback, started the way controller-runtime's envtest does.

etcd, kube-apiserver (client-certificate authentication, RBAC, service-account keys, no
ServiceAccount admission since nothing creates the default accounts) and kube-controller-manager
running only the controllers in CONTROLLERS. There is no kubelet and no
scheduler: pods stay Pending until a test plays the kubelet (``support.kubelet``).

``for_node=True`` makes it a control plane a real node can join (``support.node``): ServiceAccount
admission and the controllers that pods, Deployments and Services need.
"""

from __future__ import annotations

import base64
import contextlib
import shutil
import ssl
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from support.pki import CertificateAuthority, KeyPair, signing_key_pair
from support.processes import free_port, http_ok, start_process, wait_until

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
CONTROLLERS = ("job-controller", "garbage-collector-controller", "namespace-controller",
               "deployment-controller", "replicaset-controller")
"""Deployments and ReplicaSets make Pods (KServe's Standard mode reconciles to a Deployment);
with no scheduler and no kubelet those Pods stay Pending unless a test plays the kubelet."""
NODE_CONTROLLERS = ("serviceaccount-controller", "root-ca-certificate-publisher-controller",
                    "statefulset-controller", "endpointslice-controller", "ttl-after-finished-controller",
                    "pod-garbage-collector-controller", "node-lifecycle-controller",
                    "persistentvolume-binder-controller", "persistentvolume-protection-controller",
                    "persistentvolumeclaim-protection-controller")
"""What pods on a real node need besides CONTROLLERS: the `default` ServiceAccount and the
``kube-root-ca.crt`` ConfigMap in every namespace (projected tokens), StatefulSets, the
EndpointSlices kube-proxy and CoreDNS read, the clean-up of finished Jobs and orphaned pods, the
node's not-ready taint lifted once its kubelet reports Ready, and PersistentVolumeClaims bound to
the PersistentVolumes a test provides (and released from their protection finalizers)."""
KUBERNETES_SERVICE_IP = "10.0.0.1"
ADMIN_USER, ADMIN_GROUP = "leadscore-admin", "system:masters"


@dataclass
class ControlPlane:
    """A running control plane; ``kubeconfig`` names the admin identity (group system:masters)."""

    server: str
    kubeconfig: Path
    workdir: Path  # logs: etcd.log, kube-apiserver.log, kube-controller-manager.log

    @property
    def ca_file(self) -> Path:
        """The cluster CA's certificate (it signed the apiserver's serving and the admin's client cert)."""
        return self.workdir / "pki" / "ca.crt"

    @property
    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": str(self.kubeconfig)}

    def api_client(self) -> ApiClient:
        """A fresh ``kubernetes.client.ApiClient`` for the admin identity (close it when done)."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))


def kubeconfig_document(
    server: str, ca_pem: bytes, admin: KeyPair, context: str = "leadscore-test"
) -> dict[str, Any]:
    """A kubeconfig with one cluster, one client-certificate user and one current context."""
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context,
                      "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)}}],
        "users": [{"name": ADMIN_USER, "user": {"client-certificate-data": b64(admin.cert_pem),
                                                  "client-key-data": b64(admin.key_pem)}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": ADMIN_USER,
                                                   "namespace": "default"}}],
        "current-context": context,
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def _tls_context(ca: Path, cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(str(cert), str(key))
    return context


def _start_etcd(stack: ExitStack, bin_dir: Path, workdir: Path, timeout: float) -> str:
    client_url, peer_url = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    args = [bin_dir / "etcd", "--name", "default", "--data-dir", workdir / "etcd",
            "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
            "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", f"default={peer_url}", "--unsafe-no-fsync", "--log-level", "warn"]
    process = start_process("etcd", args, workdir / "etcd.log")
    stack.callback(process.stop)
    wait_until(lambda: http_ok(f"{client_url}/health"), what=f"etcd healthy at {client_url}",
               timeout=timeout, process=process)
    return client_url


def _start_apiserver(stack: ExitStack, bin_dir: Path, workdir: Path, etcd_url: str, pki: dict[str, Path],
                     timeout: float, for_node: bool) -> str:
    port = free_port()
    server = f"https://127.0.0.1:{port}"
    args = [bin_dir / "kube-apiserver",
            "--advertise-address", "127.0.0.1", "--bind-address", "127.0.0.1", "--secure-port", str(port),
            "--etcd-servers", etcd_url,
            "--tls-cert-file", pki["serving.crt"], "--tls-private-key-file", pki["serving.key"],
            "--client-ca-file", pki["ca.crt"],
            "--authorization-mode", "RBAC", "--anonymous-auth=false",
            "--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
            "--service-account-key-file", pki["sa.pub"],
            "--service-account-signing-key-file", pki["sa.key"],
            "--service-cluster-ip-range", SERVICE_CLUSTER_IP_RANGE,
            *(() if for_node else ("--disable-admission-plugins", "ServiceAccount")),
            "--allow-privileged=true", "--endpoint-reconciler-type", "none", "--profiling=false"]
    process = start_process("kube-apiserver", args, workdir / "kube-apiserver.log")
    stack.callback(process.stop)
    tls = _tls_context(pki["ca.crt"], pki["admin.crt"], pki["admin.key"])
    wait_until(lambda: http_ok(f"{server}/readyz", context=tls),
               what=f"kube-apiserver /readyz at {server}", timeout=timeout, process=process)
    return server


def _start_controller_manager(stack: ExitStack, bin_dir: Path, workdir: Path, kubeconfig: Path,
                              timeout: float, root_ca: Path | None) -> None:
    port = free_port()
    controllers = CONTROLLERS if root_ca is None else CONTROLLERS + NODE_CONTROLLERS
    args = [bin_dir / "kube-controller-manager",
            "--kubeconfig", kubeconfig,
            "--authentication-kubeconfig", kubeconfig, "--authorization-kubeconfig", kubeconfig,
            "--bind-address", "127.0.0.1", "--secure-port", str(port), "--cert-dir", workdir / "kcm-certs",
            "--controllers", ",".join(controllers), "--leader-elect=false",
            "--use-service-account-credentials=false", "--profiling=false",
            *(() if root_ca is None else ("--root-ca-file", root_ca))]
    process = start_process("kube-controller-manager", args, workdir / "kube-controller-manager.log")
    stack.callback(process.stop)
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE  # its self-signed serving cert; /healthz carries no secrets
    wait_until(lambda: http_ok(f"https://127.0.0.1:{port}/healthz", context=insecure),
               what="kube-controller-manager /healthz", timeout=timeout, process=process)


def _write_pki(directory: Path) -> dict[str, Path]:
    directory.mkdir(mode=0o700)
    ca = CertificateAuthority("leadscore-test-ca")
    # Pods reach the apiserver through the `kubernetes` Service: its ClusterIP and DNS names.
    serving = ca.serving_pair("kube-apiserver", ["127.0.0.1", "localhost", KUBERNETES_SERVICE_IP, "kubernetes",
                                                 "kubernetes.default", "kubernetes.default.svc",
                                                 "kubernetes.default.svc.cluster.local"])
    admin = ca.client_pair(ADMIN_USER, ADMIN_GROUP)
    sa = signing_key_pair()
    files = {"ca.crt": ca.cert_pem, "serving.crt": serving.cert_pem, "serving.key": serving.key_pem,
             "admin.crt": admin.cert_pem, "admin.key": admin.key_pem,
             "sa.pub": sa.cert_pem, "sa.key": sa.key_pem}
    return {name: _write(directory / name, data) for name, data in files.items()}


@contextmanager
def running_control_plane(bin_dir: Path, workdir: Path, *, timeout: float = 300.0,
                          for_node: bool = False) -> Iterator[ControlPlane]:
    """Start etcd, kube-apiserver and kube-controller-manager; stop them and delete ``workdir`` after.

    Deadlines are generous: on two busy cores the apiserver alone may need a minute.
    """
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        pki = _write_pki(workdir / "pki")
        etcd_url = _start_etcd(stack, bin_dir, workdir, timeout)
        server = _start_apiserver(stack, bin_dir, workdir, etcd_url, pki, timeout, for_node)
        admin = KeyPair(pki["admin.crt"].read_bytes(), pki["admin.key"].read_bytes())
        document = kubeconfig_document(server, pki["ca.crt"].read_bytes(), admin)
        kubeconfig = _write(workdir / "kubeconfig", yaml.safe_dump(document).encode())
        _start_controller_manager(stack, bin_dir, workdir, kubeconfig, timeout,
                                  pki["ca.crt"] if for_node else None)
        yield ControlPlane(server=server, kubeconfig=kubeconfig, workdir=workdir)


@contextmanager
def fresh_namespace(kube: ControlPlane, name: str, labels: dict[str, str] | None = None) -> Iterator[str]:
    """Namespace ``name`` (with ``labels``) on ``kube`` for the block, deleted after it."""
    from kubernetes import client

    with kube.api_client() as api:
        core = client.CoreV1Api(api)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))
        try:
            yield name
        finally:
            with contextlib.suppress(client.exceptions.ApiException):
                core.delete_namespace(name)

"""A real node on this machine, joined to a test control plane (``running_control_plane(for_node=True)``).

kube-scheduler (on loopback), and, inside network and mount namespaces of their own: containerd
and runc (Debian's), a kubelet, the CNI bridge, kube-proxy (iptables) and CoreDNS as a real pod.
docs/testing.md ("The node") explains the layout; in short:

- Pod and Service addresses exist only in the node's network namespace: the bridge ``cni0``
  (POD_GATEWAY) and the pods behind it; nothing there routes anywhere else. The host reaches a
  pod or Service through ``Node.forward``: 127.0.0.1 on the host, a Unix socket, and a socat
  inside the namespace. The apiserver is reached the other way round, on the same port number.
- The node's private mount namespace has its own ``/run`` (tmpfs: netns bind mounts, shim
  sockets, runc state) and holds every mount containerd and the kubelet make, so they vanish with it. The kernel
  settings the kubelet would change machine-wide (overcommit, panic) are shadowed inside it by
  files holding the values it wants: it finds them set and changes nothing.
- Everything runs in cgroups under ``/leadscore-node-<pid>``; the clean-up ends every process
  left in them and in the namespaces (all started here), by PID, then removes the cgroups.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from support.controlplane import ControlPlane
from support.netns import relay_in, relay_out
from support.processes import ServerProcess, ServerStartError, free_port, start_process, wait_until
from support.skipping import require_or_skip

NODE_NAME = "leadscore-node"
POD_SUBNET, POD_GATEWAY = "10.244.0.0/24", "10.244.0.1"
SERVICE_SUBNET, CLUSTER_DNS = "10.0.0.0/24", "10.0.0.10"
CLUSTER_DOMAIN = "cluster.local"
IMAGE_PREFIX = "docker.io/leadscore"
PAUSE_IMAGE = f"{IMAGE_PREFIX}/pause:dev"
COREDNS_IMAGE = f"{IMAGE_PREFIX}/coredns:dev"
CNI_BIN_DIR = Path("/usr/lib/cni")
CGROUP_FS = Path("/sys/fs/cgroup")
COREDNS_MANIFEST = Path(__file__).with_name("coredns.yaml")
# What the kubelet would otherwise write machine-wide (container_manager_linux.go, setupKernelTunables).
KUBELET_SYSCTLS = {"vm/overcommit_memory": "1", "vm/panic_on_oom": "0", "kernel/panic": "10",
                   "kernel/panic_on_oops": "1"}


@dataclass
class Node:
    """A running node: ``name``, the ``containerd`` socket, and ways in from the host."""

    name: str
    holder: ServerProcess  # holds the namespaces: its /proc/<pid>/ns/{net,mnt}
    containerd: Path
    workdir: Path  # logs: containerd.log, kubelet.log, kube-proxy.log, kube-scheduler.log; pods/ (pod logs)
    images: Mapping[str, Path]
    _stack: ExitStack = field(repr=False)
    _loaded: set[str] = field(default_factory=set, repr=False)

    @property
    def pid(self) -> int:
        return self.holder.popen.pid

    def enter(self, *args: str | os.PathLike[str], mount: bool = False) -> list[str]:
        """``args`` prefixed to run in the node's network (and with ``mount``, mount) namespace."""
        spaces = ["--net", "--mount"] if mount else ["--net"]
        return ["nsenter", "--target", str(self.pid), *spaces, "--", *(str(a) for a in args)]

    def load(self, *names: str) -> None:
        """Import the images ``names`` (keys of ``images``) into containerd's k8s.io namespace."""
        for name in names:
            if name not in self._loaded:
                if name not in self.images or not self.images[name].is_file():
                    require_or_skip(f"image {name} is not built ({self.images.get(name)}): run `make images`")
                _ctr(self.containerd, "images", "import", str(self.images[name]), timeout=600)
                self._loaded.add(name)

    def pod_log(self, namespace: str, pod: str, chars: int = 4000) -> str:
        """The tail of every container log the kubelet wrote for ``pod`` (no apiserver-to-kubelet path here)."""
        logs = sorted((self.workdir / "pods").glob(f"{namespace}_{pod}_*/*/*.log"))
        return "\n".join(f"== {log.relative_to(self.workdir)}\n{log.read_text(errors='replace')[-chars:]}"
                         for log in logs) or f"(no logs for {namespace}/{pod})"

    def forward(self, host: str, port: int) -> int:
        """A port on the host's 127.0.0.1 that reaches ``host:port`` (a pod or Service address) in the node."""
        return relay_in(self._stack, self.enter, self.workdir, host, port)

    def reach(self, stack: ExitStack, host_port: int) -> None:
        """Pods reach the host's 127.0.0.1:``host_port`` (a test server) at POD_GATEWAY:``host_port``,
        until ``stack`` closes; ``host_service`` gives that address a Service name."""
        relay_out(stack, self.enter, self.workdir, host_port, host_port, bind=POD_GATEWAY)


def _ctr(address: Path, *args: str, timeout: float = 60) -> str:
    done = subprocess.run(["ctr", "--address", str(address), "--namespace", "k8s.io", *args],
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"ctr {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


# --- namespaces and cgroups -------------------------------------------------------------------

def _holder_script(workdir: Path) -> str:
    """The namespaces' first process: private mounts, the bridge, then sleep until stopped."""
    shadows = workdir / "sysctl"
    lines = ["set -eu",
             # A /run of its own: containerd's netns bind mounts, shim sockets and runc state
             # live there, seen by nothing outside and gone with the namespace.
             "mount -t tmpfs -o mode=755 tmpfs /run",
             "mkdir -p /run/netns /run/containerd"]
    for key, value in KUBELET_SYSCTLS.items():
        shadow = shadows / key.replace("/", ".")
        lines += [f"mkdir -p {shadows}", f"echo {value} > {shadow}", f"mount --bind {shadow} /proc/sys/{key}"]
    lines += ["ip link set lo up",
              "ip link add cni0 type bridge",
              f"ip addr add {POD_GATEWAY}/24 dev cni0",
              "ip link set cni0 up",
              # Service addresses: locally sent packets need a route before kube-proxy's DNAT.
              f"ip route add {SERVICE_SUBNET} dev cni0",
              "echo 1 > /proc/sys/net/ipv4/ip_forward",
              "echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables",
              f"touch {workdir / 'namespaces-ready'}",
              "exec sleep infinity"]
    return "\n".join(lines)


def _cgroup_controllers() -> list[Path]:
    """Every hierarchy, the cgroup2 one (``unified``, where runc also makes a cgroup per container) too."""
    return sorted(p for p in CGROUP_FS.iterdir() if p.is_dir())


def _create_cgroups(root: str) -> None:
    for controller in _cgroup_controllers():
        if controller.name == "unified":
            continue
        path = controller / root
        path.mkdir(exist_ok=True)
        if controller.name == "cpuset":  # a new cpuset is empty: copy the parent's cpus and mems
            for name in ("cpuset.cpus", "cpuset.mems"):
                (path / name).write_text((controller / name).read_text())


def _cgroup_pids(root: str) -> set[int]:
    pids: set[int] = set()
    for controller in _cgroup_controllers():
        for procs in (controller / root).rglob("cgroup.procs") if (controller / root).exists() else ():
            with contextlib.suppress(OSError):
                pids.update(int(line) for line in procs.read_text().split())
    return pids


def _namespace_pids(holder_pid: int) -> set[int]:
    """Every process in the holder's mount or network namespace (all started by this fixture)."""
    try:
        ours = {os.readlink(f"/proc/{holder_pid}/ns/{kind}") for kind in ("mnt", "net")}
    except OSError:
        return set()
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != holder_pid:
            with contextlib.suppress(OSError):
                if any(os.readlink(entry / "ns" / kind) in ours for kind in ("mnt", "net")):
                    pids.add(int(entry.name))
    return pids


def _kill_all(pids_of: Any, what: str, timeout: float = 30) -> None:
    """SIGKILL the processes ``pids_of()`` returns until none is left (bounded)."""
    deadline = time.monotonic() + timeout
    while pids := pids_of():
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {sorted(pids)} in {what} survived SIGKILL")
        time.sleep(0.2)


def _remove_cgroups(root: str) -> None:
    """Remove ``root`` in every hierarchy, deepest first; fail naming what could not be removed."""
    for controller in _cgroup_controllers():
        top = controller / root
        if top.exists():
            for path in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                with contextlib.suppress(OSError):
                    path.rmdir()
            with contextlib.suppress(OSError):
                top.rmdir()
    left = [str(c / root) for c in _cgroup_controllers() if (c / root).exists()]
    if left:
        raise RuntimeError(f"the node's cgroups could not be removed: {left}")


# --- configuration files ----------------------------------------------------------------------

def _containerd_config(workdir: Path) -> str:
    state = workdir / "containerd"
    return f"""version = 2
root = "{state / 'root'}"
state = "{state / 'state'}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "{workdir / 'containerd.sock'}"

[ttrpc]
  address = "{workdir / 'containerd.ttrpc.sock'}"

[plugins."io.containerd.internal.v1.opt"]
  path = "{state / 'opt'}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  # runc cannot lower oom_score_adj: the VM withholds CAP_SYS_RESOURCE.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{workdir / 'cni'}"
"""


def _cni_config(workdir: Path) -> dict[str, Any]:
    return {"cniVersion": "0.4.0", "name": "leadscore", "plugins": [
        {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": False, "hairpinMode": True,
         "ipam": {"type": "host-local", "dataDir": str(workdir / "ipam"),
                  "ranges": [[{"subnet": POD_SUBNET, "gateway": POD_GATEWAY}]],
                  "routes": [{"dst": "0.0.0.0/0"}]}},
        {"type": "portmap", "capabilities": {"portMappings": True}},
    ]}


def _kubelet_config(workdir: Path, plane: ControlPlane, containerd: Path, cgroup_root: str) -> dict[str, Any]:
    (workdir / "resolv.conf").write_text("")  # pods with dnsPolicy Default resolve nothing outside
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "containerRuntimeEndpoint": f"unix://{containerd}",
        "cgroupDriver": "cgroupfs", "cgroupRoot": cgroup_root, "failCgroupV1": False,
        "failSwapOn": False, "protectKernelDefaults": False,
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": False},
                           "x509": {"clientCAFile": str(plane.ca_file)}},
        "authorization": {"mode": "AlwaysAllow"},
        "address": POD_GATEWAY, "readOnlyPort": 0, "healthzBindAddress": "127.0.0.1",
        "clusterDNS": [CLUSTER_DNS], "clusterDomain": CLUSTER_DOMAIN,
        "resolvConf": str(workdir / "resolv.conf"),
        "podLogsDir": str(workdir / "pods"), "volumePluginDir": str(workdir / "volume-plugins"),
        "rotateCertificates": False, "serverTLSBootstrap": False,
        # No registry to pull from again: never collect images, never evict for a busy disk.
        "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                         "nodefs.inodesFree": "1%"},
        "syncFrequency": "10s", "fileCheckFrequency": "60s", "nodeStatusUpdateFrequency": "10s",
        "serializeImagePulls": False, "maxPods": 60,
    }


def _kube_proxy_config(kubeconfig: Path) -> dict[str, Any]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
        "mode": "iptables", "clusterCIDR": POD_SUBNET, "hostnameOverride": NODE_NAME,
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "bindAddress": "127.0.0.1", "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        # Machine-wide conntrack table sizes stay as they are.
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"localhostNodePorts": False},
    }


def _write_yaml(path: Path, document: Any) -> Path:
    path.write_text(yaml.safe_dump(document))
    return path


# --- objects ------------------------------------------------------------------------------------

def _publish_apiserver(api: Any, port: int) -> None:
    """The `kubernetes` Service's endpoint: the node-side socat on the bridge, same port as on loopback.

    The apiserver runs with ``--endpoint-reconciler-type none``, so nothing else writes it.
    """
    from kubernetes import client

    body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kubernetes-node", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "kubernetes",
                                    "endpointslice.kubernetes.io/managed-by": "leadscore-tests"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [POD_GATEWAY], "conditions": {"ready": True}}],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}
    client.DiscoveryV1Api(api).create_namespaced_endpoint_slice("default", body)


def host_service(api: Any, namespace: str, name: str, port: int) -> None:
    """A Service ``name`` on ``port`` without selector, whose one endpoint is POD_GATEWAY:``port``:
    with ``Node.reach`` it leads pods to a server on the host's loopback, as the apiserver's does."""
    from kubernetes import client

    client.CoreV1Api(api).create_namespaced_service(namespace, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"ports": [{"name": "tcp", "port": port, "targetPort": port, "protocol": "TCP"}]}})
    client.DiscoveryV1Api(api).create_namespaced_endpoint_slice(namespace, {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": name,
                                              "endpointslice.kubernetes.io/managed-by": "leadscore-tests"}},
        "addressType": "IPv4", "endpoints": [{"addresses": [POD_GATEWAY], "conditions": {"ready": True}}],
        "ports": [{"name": "tcp", "port": port, "protocol": "TCP"}]})


def apply_documents(api: Any, documents: list[dict[str, Any]]) -> None:
    """Create each object (server-side apply would need the kubectl; the client's generic helper suffices)."""
    from kubernetes import utils

    for document in documents:
        utils.create_from_dict(api, document)


def node_ready(api: Any) -> bool:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        node = client.CoreV1Api(api).read_node(NODE_NAME)
    except ApiException:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or ())


def deployment_available(api: Any, namespace: str, name: str) -> bool:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        status = client.AppsV1Api(api).read_namespaced_deployment_status(name, namespace).status
    except ApiException:
        return False
    return any(c.type == "Available" and c.status == "True" for c in status.conditions or ())


def _delete_all_pods(api: Any, timeout: float) -> None:
    """Ask the kubelet to stop every pod (it tears down each sandbox's network through CNI); bounded."""
    from kubernetes import client

    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    for namespace in core.list_namespace().items:
        name = namespace.metadata.name
        for deployment in apps.list_namespaced_deployment(name).items:  # no replacements
            apps.patch_namespaced_deployment_scale(deployment.metadata.name, name, {"spec": {"replicas": 0}})
        for stateful in apps.list_namespaced_stateful_set(name).items:
            apps.patch_namespaced_stateful_set_scale(stateful.metadata.name, name, {"spec": {"replicas": 0}})
        core.delete_collection_namespaced_pod(name, grace_period_seconds=0)
    deadline = time.monotonic() + timeout
    while core.list_pod_for_all_namespaces().items and time.monotonic() < deadline:
        time.sleep(1)


# --- the node -----------------------------------------------------------------------------------

def _node_process(stack: ExitStack, node_enter: Any, name: str, args: list[str], log: Path) -> ServerProcess:
    process = start_process(name, node_enter(*args, mount=True), log)
    stack.callback(process.stop)
    return process


@contextmanager
def running_node(plane: ControlPlane, bin_dir: Path, images: Mapping[str, Path], workdir: Path, *,
                 timeout: float = 300.0) -> Iterator[Node]:
    """Join a node to ``plane`` (started with ``for_node=True``), CoreDNS running; remove all of it after.

    ``bin_dir``: hack/build-node.sh's output; ``images``: hack/images.sh's archives by name (at
    least ``pause`` and ``coredns``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    for sub in ("cni", "ipam", "pods", "volume-plugins", "kubelet"):
        (workdir / sub).mkdir(exist_ok=True)
    port = urlsplit(plane.server).port
    assert port is not None
    with ExitStack() as stack:
        holder = start_process("node namespaces", ["unshare", "--net", "--mount", "--propagation", "private",
                                                    "--", "sh", "-c", _holder_script(workdir)],
                               workdir / "namespaces.log", stop_signal=signal.SIGKILL)
        cgroup_root = f"leadscore-node-{holder.popen.pid}"

        def clean_up() -> None:
            holder_pid = holder.popen.pid
            _kill_all(lambda: _cgroup_pids(cgroup_root) | _namespace_pids(holder_pid), "the node")
            holder.stop(grace=5)
            _remove_cgroups(cgroup_root)

        stack.callback(clean_up)  # runs last: whatever the orderly stops below left behind
        wait_until((workdir / "namespaces-ready").exists, what="the node's namespaces", timeout=30,
                   process=holder)
        _create_cgroups(cgroup_root)
        node = Node(name=NODE_NAME, holder=holder, containerd=workdir / "containerd.sock", workdir=workdir,
                    images=images, _stack=stack)

        # The apiserver inside the node: the same port on every address there (loopback for the
        # kubelet and kube-proxy, the bridge for pods), through a Unix socket to the host's loopback.
        api_socket = workdir / "apiserver.sock"
        host_side = start_process("apiserver bridge (host side)",
                                  ["socat", f"UNIX-LISTEN:{api_socket},fork", f"TCP:127.0.0.1:{port}"],
                                  workdir / "apiserver-bridge-host.log")
        stack.callback(host_side.stop)
        wait_until(api_socket.exists, what=str(api_socket), timeout=10, process=host_side)
        node_side = start_process("apiserver bridge (node side)",
                                  node.enter("socat", f"TCP-LISTEN:{port},fork,reuseaddr",
                                             f"UNIX-CONNECT:{api_socket}"),
                                  workdir / "apiserver-bridge-node.log")
        stack.callback(node_side.stop)

        (workdir / "cni" / "10-leadscore.conflist").write_text(json.dumps(_cni_config(workdir)))
        config = workdir / "containerd.toml"
        config.write_text(_containerd_config(workdir))
        containerd = _node_process(stack, node.enter, "containerd", ["containerd", "--config", str(config)],
                                   workdir / "containerd.log")
        (CGROUP_FS / "pids" / cgroup_root / "cgroup.procs").write_text(str(containerd.popen.pid))
        wait_until(lambda: subprocess.run(["ctr", "--address", str(node.containerd), "version"],
                                          capture_output=True, timeout=10).returncode == 0,
                   what="containerd", timeout=60, process=containerd)
        node.load("pause", "coredns")

        def stop_pods() -> None:  # before the kubelet stops: it removes each sandbox properly
            with plane.api_client() as api:
                _delete_all_pods(api, timeout=90)
        kubelet_config = _write_yaml(workdir / "kubelet.yaml",
                                     _kubelet_config(workdir, plane, node.containerd, f"/{cgroup_root}"))
        kubelet = _node_process(stack, node.enter, "kubelet",
                                [str(bin_dir / "kubelet"), "--config", str(kubelet_config),
                                 "--kubeconfig", str(plane.kubeconfig), "--root-dir", str(workdir / "kubelet"),
                                 "--hostname-override", NODE_NAME, "--node-ip", POD_GATEWAY, "--v", "1"],
                                workdir / "kubelet.log")
        stack.callback(stop_pods)
        proxy_config = _write_yaml(workdir / "kube-proxy.yaml", _kube_proxy_config(plane.kubeconfig))
        _node_process(stack, node.enter, "kube-proxy", [str(bin_dir / "kube-proxy"), "--config", str(proxy_config)],
                      workdir / "kube-proxy.log")
        scheduler = start_process("kube-scheduler",
                                  [bin_dir / "kube-scheduler", "--kubeconfig", plane.kubeconfig,
                                   "--authentication-kubeconfig", plane.kubeconfig,
                                   "--authorization-kubeconfig", plane.kubeconfig,
                                   "--bind-address", "127.0.0.1", "--secure-port", str(free_port()),
                                   "--leader-elect=false"],
                                  workdir / "kube-scheduler.log")
        stack.callback(scheduler.stop)

        with plane.api_client() as api:
            wait_until(lambda: node_ready(api), what=f"node {NODE_NAME} Ready", timeout=timeout, process=kubelet)
            _publish_apiserver(api, port)
            apply_documents(api, [d for d in yaml.safe_load_all(COREDNS_MANIFEST.read_text()) if d])
            try:
                wait_until(lambda: deployment_available(api, "kube-system", "coredns"),
                           what="CoreDNS Available", timeout=timeout, process=kubelet)
            except ServerStartError as exc:
                raise ServerStartError(f"{exc}\n{pod_report(api, 'kube-system')}") from None
        yield node


def pod_report(api: Any, namespace: str) -> str:
    """The pods of ``namespace`` with their phase and container states: what a failed wait needs."""
    from kubernetes import client

    lines = []
    for pod in client.CoreV1Api(api).list_namespaced_pod(namespace).items:
        states = [json.dumps(api.sanitize_for_serialization(s.state)) for s in pod.status.container_statuses or ()]
        conditions = [f"{c.type}={c.status}:{c.message or ''}" for c in pod.status.conditions or ()]
        lines.append(f"{pod.metadata.name} {pod.status.phase} {conditions} {states}")
    lines = lines or [f"(no pods in {namespace})"]
    for event in client.CoreV1Api(api).list_namespaced_event(namespace).items[-20:]:
        lines.append(f"event {event.involved_object.kind}/{event.involved_object.name} {event.reason}: {event.message}")
    return "\n".join(lines)

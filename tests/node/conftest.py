"""The `node` tests' cluster: a control plane a node can join, and a real node (support/node.py).

It needs root, Debian's containerd/runc/CNI plugins/socat (``hack/install-debs.sh --node``), the
node binaries (``hack/build-node.sh``) and the images (``make images``, hack/images.sh); without
them the tests skip, and fail under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.controlplane import ControlPlane, running_control_plane
from support.node import Node, running_node
from support.skipping import require_or_skip
from support.tools import REPO, built_tool

HOST_TOOLS = ("containerd", "ctr", "runc", "socat", "unshare", "nsenter", "iptables", "ip")


@dataclass
class NodeCluster:
    plane: ControlPlane
    node: Node


def built_images() -> dict[str, Path]:
    """hack/images.sh's archives by image name (``--path``: nothing is built here)."""
    out = subprocess.run([str(REPO / "hack" / "images.sh"), "--path"], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return {name: Path(path) for name, path in (line.split() for line in out.splitlines())}


@pytest.fixture(scope="session")
def node_cluster() -> Iterator[NodeCluster]:
    """A control plane with one real node (kubelet, containerd, kube-proxy, CoreDNS) joined."""
    if os.geteuid() != 0:
        require_or_skip("the node tests run containers: they need root")
    missing_tools = [tool for tool in HOST_TOOLS if shutil.which(tool) is None]
    if missing_tools:
        require_or_skip(f"{missing_tools} not installed: run `hack/install-debs.sh --node`")
    kube_bin = built_tool("LEADSCORE_KUBE_BIN_DIR", "build-control-plane.sh")
    node_bin = built_tool("LEADSCORE_NODE_BIN_DIR", "build-node.sh")
    missing = [str(node_bin / b) for b in ("kubelet", "kube-proxy", "kube-scheduler")
               if not (node_bin / b).is_file()]
    missing += [str(kube_bin / b) for b in ("etcd", "kube-apiserver", "kube-controller-manager")
                if not (kube_bin / b).is_file()]
    images = built_images()
    missing += [f"image {name}" for name in ("pause", "coredns") if name not in images or not images[name].is_file()]
    if missing:
        require_or_skip(f"not built: {missing}: run `make tools images`")
    workdir = Path(tempfile.mkdtemp(prefix="leadscore-node-"))
    (workdir / "plane").mkdir()
    try:
        with (running_control_plane(kube_bin, workdir / "plane", for_node=True) as plane,
              running_node(plane, node_bin, images, workdir / "node") as node):
            yield NodeCluster(plane=plane, node=node)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

#!/usr/bin/env bash
# Builds the pinned node binaries the `node` tests run, from the Go module proxy, cached by version:
#   kubelet, kube-scheduler, kube-proxy   k8s.io/kubernetes at the control plane's $K8S_VERSION
#                                         (hack/lib/k8s-wrapper.sh, the same route as hack/build-control-plane.sh)
#   pause                                 hack/node/pause: the pod sandbox's process (no registry for registry.k8s.io/pause)
#   coredns                               hack/node/coredns: CoreDNS $COREDNS_VERSION with the cluster-DNS plugins
# The container runtime (containerd, runc, CNI plugins) comes from Debian: hack/install-debs.sh --node.
# Prints the bin directory on success; with --path, prints it without building. Safe to run concurrently (flock).
set -euo pipefail
HACK="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib/build-once.sh
source "$HACK/lib/build-once.sh"
# shellcheck source-path=SCRIPTDIR source=lib/k8s-wrapper.sh
source "$HACK/lib/k8s-wrapper.sh"

COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
BIN="$CACHE/node/$K8S_VERSION-coredns-$COREDNS_VERSION"

build_node() (  # a subshell: its cd, trap and renice stay inside
  out="$1"
  renice -n 10 -p "$BASHPID" >/dev/null   # a long build shares 2 cores with everything else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT

  mkdir -p "$work/k8s/pause" && cd "$work/k8s"
  cp "$HACK/node/pause/main.go" pause/
  k8s_wrapper_module leadscore.local/node "" kubelet kube-scheduler kube-proxy
  k8s_build "$out" kubelet kube-scheduler kube-proxy
  echo ">> building pause" >&2
  go build -trimpath -ldflags "-s -w" -o "$out/pause" ./pause >&2

  mkdir -p "$work/coredns" && cd "$work/coredns"
  cp "$HACK/node/coredns/main.go" .
  printf 'module leadscore.local/coredns\n\ngo 1.26.0\n\nrequire github.com/coredns/coredns %s\n' \
    "$COREDNS_VERSION" > go.mod
  echo ">> resolving modules for coredns $COREDNS_VERSION" >&2
  go mod tidy >&2
  echo ">> building coredns $COREDNS_VERSION" >&2
  go build -trimpath -ldflags "-s -w" -o "$out/coredns" . >&2
)

[ "${1:-}" = "--path" ] || build_once "$BIN" "$CACHE/node.lock" build_node \
  kubelet kube-scheduler kube-proxy pause coredns
echo "$BIN"

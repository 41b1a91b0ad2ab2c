#!/usr/bin/env bash
# Builds the pinned Kubernetes control plane used by the integration tests (kube-apiserver,
# kube-controller-manager, etcd) from the Go module proxy, and caches it by version.
#
# Route: the wrapper module of hack/lib/k8s-wrapper.sh (k8s.io/kubernetes with its staging
# modules replaced by their published twins); etcd is built in the same wrapper from
# go.etcd.io/etcd/server/v3's etcdmain at the version Kubernetes pins. Prints the bin directory
# on success; with --path, prints it without building (the test fixtures ask this way, so the
# version pin lives in one place). Safe to run concurrently (flock).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/build-once.sh
source "$(dirname "$0")/lib/build-once.sh"
# shellcheck source-path=SCRIPTDIR source=lib/k8s-wrapper.sh
source "$(dirname "$0")/lib/k8s-wrapper.sh"

BIN="$CACHE/control-plane/$K8S_VERSION"

build_control_plane() (  # a subshell: its cd, trap and renice stay inside
  out="$1"
  renice -n 10 -p "$BASHPID" >/dev/null   # a long build shares 2 cores with everything else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cd "$work"

  echo ">> fetching k8s.io/kubernetes@$K8S_VERSION module metadata" >&2
  etcd_version="$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2; exit}' "$(k8s_module_file)")"
  mkdir -p etcd
  cat > etcd/main.go <<'GO'
// Command etcd is etcd's own entry point, built here at the version Kubernetes pins.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  k8s_wrapper_module leadscore.local/controlplane "go.etcd.io/etcd/server/v3 $etcd_version" \
    kube-apiserver kube-controller-manager
  k8s_build "$out" kube-apiserver kube-controller-manager
  echo ">> building etcd $etcd_version" >&2
  go build -trimpath -ldflags "-s -w" -o "$out/etcd" ./etcd >&2
)

[ "${1:-}" = "--path" ] || build_once "$BIN" "$CACHE/control-plane.lock" build_control_plane \
  kube-apiserver kube-controller-manager etcd
echo "$BIN"

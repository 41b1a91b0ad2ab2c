#!/usr/bin/env bash
# Builds the pinned Kubernetes control plane used by the integration tests (kube-apiserver,
# kube-controller-manager, etcd) from the Go module proxy, and caches it by version.
#
# Route: a throw-away wrapper module requires k8s.io/kubernetes and replaces each staging
# module (./staging/src/k8s.io/* in kubernetes' own go.mod) with its published v0.x twin;
# etcd is built in the same wrapper from go.etcd.io/etcd/server/v3's etcdmain at the version
# Kubernetes pins. Prints the bin directory on success; with --path, prints it without building
# (the test fixtures ask this way, so the version pin lives here only). Safe to run concurrently (flock).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/build-once.sh
source "$(dirname "$0")/lib/build-once.sh"

K8S_VERSION="${K8S_VERSION:-v1.35.4}"
BIN="$CACHE/control-plane/$K8S_VERSION"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

build_control_plane() (  # a subshell: its cd, trap and renice stay inside
  out="$1"
  renice -n 10 -p "$BASHPID" >/dev/null   # a long build shares 2 cores with everything else
  staging_version="v0.${K8S_VERSION#v1.}"          # v1.35.4 -> v0.35.4
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  cd "$work"

  echo ">> fetching k8s.io/kubernetes@$K8S_VERSION module metadata" >&2
  k8s_mod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  etcd_version="$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2; exit}' "$k8s_mod")"
  go_directive="$(awk '$1=="go"{print $2; exit}' "$k8s_mod")"

  {
    echo "module leadscore.local/controlplane"
    echo
    echo "go $go_directive"
    echo
    echo "require ("
    echo "	k8s.io/kubernetes $K8S_VERSION"
    echo "	go.etcd.io/etcd/server/v3 $etcd_version"
    echo ")"
    echo
    echo "tool ("
    echo "	k8s.io/kubernetes/cmd/kube-apiserver"
    echo "	k8s.io/kubernetes/cmd/kube-controller-manager"
    echo ")"
    echo
    echo "replace ("
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "$k8s_mod" |
      while read -r m; do echo "	$m => $m $staging_version"; done
    echo ")"
  } > go.mod
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

  echo ">> resolving modules (etcd $etcd_version, staging $staging_version)" >&2
  # The `tool` lines keep k8s.io/kubernetes in the module graph: without them `go mod tidy`
  # drops it (nothing imports it) and `go build` then resolves the latest release instead.
  go mod tidy >&2

  minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags="$ldflags -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done

  for cmd in kube-apiserver kube-controller-manager; do
    echo ">> building $cmd $K8S_VERSION" >&2
    go build -trimpath -ldflags "$ldflags" -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd" >&2
  done
  echo ">> building etcd $etcd_version" >&2
  go build -trimpath -ldflags "-s -w" -o "$out/etcd" ./etcd >&2
)

[ "${1:-}" = "--path" ] || build_once "$BIN" "$CACHE/control-plane.lock" build_control_plane \
  kube-apiserver kube-controller-manager etcd
echo "$BIN"

#!/usr/bin/env bash
# Builds the pinned KubeRay operator (github.com/ray-project/kuberay/ray-operator, its main package
# at the module root) from the Go module proxy and caches it by version with its CRDs (RayCluster,
# RayJob, RayService: config/crd/bases/ray.io_*.yaml, shipped in the same module). The `ray` tests
# install the CRDs on the test kube-apiserver and run the operator against it (loopback).
#
# Prints the cache directory (the binary `ray-operator`, CRDs under crd/) on success; with --path,
# prints it without building (the test fixtures ask this way, so the version pin lives here
# only). Safe to run concurrently (flock).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/build-once.sh
source "$(dirname "$0")/lib/build-once.sh"

KUBERAY_VERSION="${KUBERAY_VERSION:-v1.5.0}"
MODULE="github.com/ray-project/kuberay/ray-operator"
DIR="$CACHE/kuberay/$KUBERAY_VERSION"
CRDS=(ray.io_rayclusters.yaml ray.io_rayjobs.yaml ray.io_rayservices.yaml)
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

build_kuberay() {
  local out="$1" source crd
  echo ">> building $MODULE@$KUBERAY_VERSION from the Go module proxy"
  GOBIN="$out" nice -n 10 go install -trimpath -ldflags "-s -w" "$MODULE@$KUBERAY_VERSION"
  source="$(go mod download -json "$MODULE@$KUBERAY_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  [ -d "$source/config/crd/bases" ] || { echo "no config/crd/bases in $source" >&2; return 1; }
  mkdir -p "$out/crd"
  for crd in "${CRDS[@]}"; do cp "$source/config/crd/bases/$crd" "$out/crd/$crd"; done
}

# build_once checks the binary; the CRDs are copied in the same build, before the one rename.
[ "${1:-}" = "--path" ] || build_once "$DIR" "$CACHE/kuberay.lock" build_kuberay ray-operator
echo "$DIR"

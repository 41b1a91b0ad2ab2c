#!/usr/bin/env bash
# Fetches the pinned KubeRay CRDs (RayCluster, RayJob, RayService) from the Go module proxy and
# caches them by version: github.com/ray-project/kuberay/ray-operator ships them in its module
# (config/crd/bases/ray.io_*.yaml), so `go mod download` is all it takes, no build. The `ray`
# tests install them on the test kube-apiserver to show the operator's RayJob is admitted.
# Building and running the KubeRay operator itself is not done yet (docs/scale.md).
#
# Prints the cache directory (CRDs under crd/) on success; with --path, prints it without
# fetching (the test fixtures ask this way, so the version pin lives here only). Safe to run
# concurrently (flock).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/build-once.sh
source "$(dirname "$0")/lib/build-once.sh"

KUBERAY_VERSION="${KUBERAY_VERSION:-v1.5.0}"
MODULE="github.com/ray-project/kuberay/ray-operator"
DIR="$CACHE/kuberay/$KUBERAY_VERSION"
CRDS=(ray.io_rayclusters.yaml ray.io_rayjobs.yaml ray.io_rayservices.yaml)
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

fetched() {
  local crd
  for crd in "${CRDS[@]}"; do [ -s "$DIR/crd/$crd" ] || return 1; done
}

fetch_crds() {
  local out="$1" source crd
  echo ">> fetching $MODULE@$KUBERAY_VERSION from the Go module proxy" >&2
  source="$(go mod download -json "$MODULE@$KUBERAY_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  [ -d "$source/config/crd/bases" ] || { echo "no config/crd/bases in $source" >&2; return 1; }
  mkdir -p "$out/crd"
  for crd in "${CRDS[@]}"; do cp "$source/config/crd/bases/$crd" "$out/crd/$crd"; done
}

if [ "${1:-}" != "--path" ] && ! fetched; then
  mkdir -p "$CACHE"
  exec 9>"$CACHE/kuberay.lock"
  flock 9
  if ! fetched; then   # another run may have fetched them while we waited
    rm -rf "$DIR.tmp" && mkdir -p "$DIR.tmp"
    fetch_crds "$DIR.tmp"
    rm -rf "$DIR" && mv "$DIR.tmp" "$DIR"
  fi
fi
echo "$DIR"

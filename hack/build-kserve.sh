#!/usr/bin/env bash
# Builds the pinned KServe controller (`manager`) and logger/batcher sidecar (`agent`) that the
# `kserve` tests run out of cluster, and caches them by version together with the upstream
# files the test fixture installs: the CRDs (config/crd/full), the inferenceservice-config
# ConfigMap (config/configmap) and the admission webhooks (config/webhook).
#
# The Go module proxy refuses github.com/kserve/kserve, so the source comes from, in order:
#   1. LEADSCORE_KSERVE_SRC: a path to an unpacked source tree or a .tar.gz of it;
#   2. ../shared/vendor/kserve-$VERSION-src.tar.gz, verified against ../shared/vendor/SHA256SUMS;
#   3. the tag from the upstream git repository (needs internet access).
# Nothing of KServe is copied into this repository. Prints the cache directory on success;
# with --path, prints it without building (the test fixtures ask this way, so the version pin
# lives here only). Safe to run concurrently (flock).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/build-once.sh
source "$(dirname "$0")/lib/build-once.sh"

KSERVE_VERSION="${KSERVE_VERSION:-v0.20.0}"
KSERVE_GIT="${KSERVE_GIT:-https://github.com/kserve/kserve.git}"
VENDOR="$(realpath -m "$(dirname "$0")/../../shared/vendor")"
DIR="$CACHE/kserve/$KSERVE_VERSION"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

# fetch_source WORK: unpack or clone the KServe source into WORK/src.
fetch_source() {
  local work="$1" tarball="$VENDOR/kserve-${KSERVE_VERSION}-src.tar.gz"
  mkdir -p "$work/src"
  if [ -n "${LEADSCORE_KSERVE_SRC:-}" ]; then
    echo ">> KServe source from LEADSCORE_KSERVE_SRC=$LEADSCORE_KSERVE_SRC" >&2
    if [ -d "$LEADSCORE_KSERVE_SRC" ]; then
      cp -a "$LEADSCORE_KSERVE_SRC/." "$work/src/"
    else
      tar -xzf "$LEADSCORE_KSERVE_SRC" -C "$work/src" --strip-components=1
    fi
  elif [ -f "$tarball" ]; then
    echo ">> KServe source from $tarball (checking SHA256SUMS)" >&2
    (cd "$VENDOR" && grep " $(basename "$tarball")\$" SHA256SUMS | sha256sum --check --strict >&2)
    tar -xzf "$tarball" -C "$work/src" --strip-components=1
  else
    echo ">> KServe source from $KSERVE_GIT at $KSERVE_VERSION" >&2
    git clone --quiet --depth 1 --branch "$KSERVE_VERSION" "$KSERVE_GIT" "$work/src" >&2
  fi
}

build_kserve() (  # a subshell: its cd, trap and renice stay inside
  out="$1"
  renice -n 10 -p "$BASHPID" >/dev/null   # a long build shares 2 cores with everything else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  fetch_source "$work"
  cd "$work/src"
  for cmd in manager agent; do
    echo ">> building KServe $cmd $KSERVE_VERSION" >&2
    start=$SECONDS
    go build -trimpath -ldflags "-s -w" -o "$out/$cmd" "./cmd/$cmd" >&2
    echo ">> KServe $cmd built in $((SECONDS - start)) s" >&2
  done
  # The files the fixture installs, as upstream ships them (kustomize patches left out).
  mkdir -p "$out/config"
  cp -a config/crd/full "$out/config/crd"
  find "$out/config/crd" \( -name kustomization.yaml -o -name '*_patch.yaml' \) -delete
  cp -a config/configmap "$out/config/configmap"
  cp -a config/webhook "$out/config/webhook"
  cp LICENSE "$out/LICENSE"
)

[ "${1:-}" = "--path" ] || build_once "$DIR" "$CACHE/kserve.lock" build_kserve manager agent
echo "$DIR"

#!/usr/bin/env bash
# Builds the pinned helm CLI from the Go module proxy and caches it by version (the chart tests
# run `helm lint`, `helm template` and `helm install` against the test apiserver).
# Version ldflags as helm's own Makefile sets them, so `helm version` and the default
# Capabilities.KubeVersion are the release's, not a development build's.
# Prints the binary's path on success; with --path, prints it without building.
# Safe to run concurrently (flock); the build is nice'd.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/build-once.sh
source "$(dirname "$0")/lib/build-once.sh"

HELM_VERSION="${HELM_VERSION:-v3.21.4}"
DIR="$CACHE/helm/$HELM_VERSION"
export GOTOOLCHAIN=local CGO_ENABLED=0

build_helm() {
  # Kubernetes version helm was built against: client-go v0.M.x means Kubernetes 1.M.
  local helm_mod k8s_minor pkg=helm.sh/helm/v3 ldflags var
  helm_mod="$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  k8s_minor="$(awk '$1=="k8s.io/client-go"{split($2, v, "."); print v[2]; exit}' "$helm_mod")"
  ldflags="-s -w -X $pkg/internal/version.version=$HELM_VERSION -X $pkg/internal/version.gitTreeState=clean"
  for var in pkg/lint/rules pkg/chartutil; do
    ldflags="$ldflags -X $pkg/$var.k8sVersionMajor=1 -X $pkg/$var.k8sVersionMinor=$k8s_minor"
  done
  echo ">> building helm $HELM_VERSION (Kubernetes 1.$k8s_minor)"
  GOBIN="$1" nice -n 10 go install -trimpath -ldflags "$ldflags" "$pkg/cmd/helm@$HELM_VERSION"
}

[ "${1:-}" = "--path" ] || build_once "$DIR" "$CACHE/helm.lock" build_helm helm
echo "$DIR/helm"

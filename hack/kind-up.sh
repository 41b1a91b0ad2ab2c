#!/usr/bin/env bash
# Creates a local kind cluster ready for leadscore (`make kind-up`):
#   1. kind cluster "leadscore" from manifests/kind/cluster.yaml (node image pinned below)
#   2. cert-manager (KServe's webhook certificates), pinned, from the jetstack Helm repository
#   3. KServe CRDs + controller in Standard (raw Deployment) mode, pinned, from KServe's OCI charts
#   4. namespace leadscore-demo for the example models
# MinIO, MLflow and PostgreSQL come with the leadscore chart itself (`make deploy`, minio/mlflow/
# postgresql.enabled in manifests/kind/values.yaml). Idempotent: re-running skips what exists.
# docs/install.md describes the same steps for a real cluster. Every pin can be overridden by env.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER_NAME="${CLUSTER_NAME:-leadscore}"
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-kindest/node:v1.34.0}"   # kind v0.30.0's default node
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.17.0}"
KSERVE_VERSION="${KSERVE_VERSION:-v0.20.0}"  # the version the tests run (hack/build-kserve.sh)
KSERVE_NAMESPACE="${KSERVE_NAMESPACE:-kserve}"
DEMO_NAMESPACE="${DEMO_NAMESPACE:-leadscore-demo}"
WAIT="${WAIT:-300s}"

die() { echo "kind-up: $*" >&2; exit 1; }
step() { echo ">> $*" >&2; }

require() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"
}

# helm: the one on PATH, else the pinned build the tests use (hack/build-helm.sh).
find_helm() {
  if command -v helm >/dev/null 2>&1; then
    command -v helm
    return
  fi
  local built
  built="$(hack/build-helm.sh --path)"
  [ -x "$built" ] || die "helm is not installed: get it from https://helm.sh/docs/intro/install/ (v3.16+) or run hack/build-helm.sh"
  echo "$built"
}

require docker "install Docker (https://docs.docker.com/get-docker/); kind runs its nodes as containers"
require kind "install kind v0.30+ (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
require kubectl "install kubectl (https://kubernetes.io/docs/tasks/tools/)"
docker info >/dev/null 2>&1 || die "Docker is installed but not running (or this user may not use it): start Docker and retry"
HELM="$(find_helm)"

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
  step "kind cluster $CLUSTER_NAME exists; reusing it"
else
  step "creating kind cluster $CLUSTER_NAME ($KIND_NODE_IMAGE)"
  kind create cluster --name "$CLUSTER_NAME" --image "$KIND_NODE_IMAGE" \
    --config manifests/kind/cluster.yaml --wait "$WAIT"
fi
CONTEXT="kind-$CLUSTER_NAME"
kubectl config use-context "$CONTEXT" >/dev/null
k() { kubectl --context "$CONTEXT" "$@"; }
h() { "$HELM" --kube-context "$CONTEXT" "$@"; }

step "cert-manager $CERT_MANAGER_VERSION"
h repo add jetstack https://charts.jetstack.io --force-update >/dev/null
h upgrade --install cert-manager jetstack/cert-manager \
  --namespace cert-manager --create-namespace \
  --version "$CERT_MANAGER_VERSION" \
  --set crds.enabled=true \
  --wait --timeout "$WAIT"

step "KServe $KSERVE_VERSION (Standard deployment mode)"
h upgrade --install kserve-crd oci://ghcr.io/kserve/charts/kserve-crd \
  --namespace "$KSERVE_NAMESPACE" --create-namespace \
  --version "$KSERVE_VERSION" \
  --wait --timeout "$WAIT"
h upgrade --install kserve oci://ghcr.io/kserve/charts/kserve \
  --namespace "$KSERVE_NAMESPACE" \
  --version "$KSERVE_VERSION" \
  --set kserve.controller.deploymentMode=Standard \
  --wait --timeout "$WAIT"
k -n "$KSERVE_NAMESPACE" rollout status deployment/kserve-controller-manager --timeout "$WAIT"

step "namespace $DEMO_NAMESPACE for the example models"
k create namespace "$DEMO_NAMESPACE" --dry-run=client -o yaml | k apply -f - >/dev/null

cat >&2 <<EOF
kind-up: cluster "$CLUSTER_NAME" is ready (kubectl context $CONTEXT).
Next: make deploy    (builds the images, loads them into kind, installs charts/leadscore)
EOF

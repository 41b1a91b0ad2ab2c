#!/usr/bin/env bash
# Builds the leadscore images, loads them into the kind cluster and installs the chart
# (`make deploy`, after `make kind-up`):
#   docker build  the Dockerfile's targets operator, trainer, predictor, collector -> leadscore/<name>:dev
#   kind load     the images into cluster "leadscore" (no registry needed)
#   helm upgrade --install leadscore charts/leadscore -f manifests/kind/values.yaml
# BUILD_CUDA=1 also builds the trainer's CUDA variant (trainer/Dockerfile.cuda; large, and kind has
# no GPUs, so it is off by default).
# Re-running rebuilds and rolls the pods.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER_NAME="${CLUSTER_NAME:-leadscore}"
RELEASE="${RELEASE:-leadscore}"
NAMESPACE="${NAMESPACE:-leadscore}"
TAG="${TAG:-dev}"
BUILD_CUDA="${BUILD_CUDA:-0}"
WAIT="${WAIT:-600s}"

die() { echo "deploy: $*" >&2; exit 1; }
step() { echo ">> $*" >&2; }

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (see docs/install.md, 'Local cluster with kind')"
done
docker info >/dev/null 2>&1 || die "Docker is installed but not running (or this user may not use it): start Docker and retry"
if command -v helm >/dev/null 2>&1; then
  HELM="$(command -v helm)"
else
  HELM="$(hack/build-helm.sh --path)"
  [ -x "$HELM" ] || die "helm is not installed: get it from https://helm.sh/docs/intro/install/ or run hack/build-helm.sh"
fi
kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME" \
  || die "kind cluster '$CLUSTER_NAME' does not exist: run 'make kind-up' first"
CONTEXT="kind-$CLUSTER_NAME"
kubectl --context "$CONTEXT" get crd inferenceservices.serving.kserve.io >/dev/null 2>&1 \
  || die "KServe is not installed in '$CONTEXT': run 'make kind-up' first"

# Each build: Dockerfile, target ("-": the Dockerfile's only one), image, pip extras ("-": none).
builds=(
  "Dockerfile operator leadscore/operator:$TAG operator"
  "Dockerfile trainer leadscore/trainer:$TAG trainer"
  "Dockerfile predictor leadscore/predictor:$TAG predictor"
  "Dockerfile collector leadscore/collector:$TAG collector"
)
if [ "$BUILD_CUDA" = "1" ]; then
  builds+=("trainer/Dockerfile.cuda - leadscore/trainer:$TAG-cuda -")
fi

loaded=()
for build in "${builds[@]}"; do
  read -r dockerfile target image extras <<<"$build"
  [ -f "$dockerfile" ] || die "$dockerfile is missing: this checkout cannot build $image"
  args=(--file "$dockerfile" --tag "$image")
  [ "$target" = "-" ] || args+=(--target "$target")
  [ "$extras" = "-" ] || args+=(--build-arg "EXTRAS=$extras")
  step "docker build $image from $dockerfile (target: $target, extras: $extras)"
  docker build "${args[@]}" .
  loaded+=("$image")
done

step "kind load ${loaded[*]}"
kind load docker-image --name "$CLUSTER_NAME" "${loaded[@]}"

step "helm upgrade --install $RELEASE (namespace $NAMESPACE)"
"$HELM" --kube-context "$CONTEXT" upgrade --install "$RELEASE" charts/leadscore \
  --namespace "$NAMESPACE" --create-namespace \
  --values manifests/kind/values.yaml \
  --set "operator.image.tag=$TAG,collector.image.tag=$TAG,servingRuntime.image.tag=$TAG,operator.trainer.image.tag=$TAG" \
  --wait --timeout "$WAIT"
# Same tag, new image: restart the leadscore pods so they run what was just loaded (not the bundled
# MinIO/MLflow/PostgreSQL, whose emptyDir data a restart would lose).
kubectl --context "$CONTEXT" -n "$NAMESPACE" rollout restart deployment \
  -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component in (operator,collector)"

cat >&2 <<EOF
deploy: leadscore is installed in namespace $NAMESPACE (context $CONTEXT).
Try it:
  kubectl apply -n leadscore-demo -R -f manifests/examples/
  kubectl get lsm,abx -A -w
EOF

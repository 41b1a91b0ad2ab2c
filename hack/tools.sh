#!/usr/bin/env bash
# Installs or builds the real servers the tests talk to, each cached under $LEADSCORE_CACHE
# (default ~/.cache/leadscore) by version, so only a cold machine pays for a build:
#   PostgreSQL, chromium (console browser tests)    hack/install-debs.sh (Debian packages)
#   MinIO (S3)                                      hack/build-minio.sh (Go module proxy)
#   helm                                            hack/build-helm.sh (Go module proxy)
#   kube-apiserver, kube-controller-manager, etcd   hack/build-control-plane.sh (Go module proxy)
#   promtool (alert rule checks and rule tests)     hack/build-promtool.sh (Go module proxy)
#   KServe manager and agent (+ CRDs, config)        hack/build-kserve.sh (../shared/vendor source)
#   KubeRay operator + its CRDs (RayJob, RayCluster) hack/build-kuberay.sh (Go module proxy)
#   the node: containerd, runc, CNI plugins, buildah hack/install-debs.sh --node (Debian packages)
#   kubelet, kube-scheduler, kube-proxy, CoreDNS     hack/build-node.sh (Go module proxy)
#   the images the node runs                        hack/images.sh (buildah; cached by content hash)
# Builds run one after another (2 cores) and nice'd. With --env, prints the `export` lines the
# fixtures read (hack/test.sh evals them); a variable already set is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--env" ]; then
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  printf 'export LEADSCORE_KUBE_BIN_DIR=%q\n' "${LEADSCORE_KUBE_BIN_DIR:-$(hack/build-control-plane.sh --path)}"
  printf 'export LEADSCORE_MINIO_BIN=%q\n' "${LEADSCORE_MINIO_BIN:-$(hack/build-minio.sh --path)}"
  printf 'export LEADSCORE_HELM_BIN=%q\n' "${LEADSCORE_HELM_BIN:-$(hack/build-helm.sh --path)}"
  printf 'export LEADSCORE_PROMTOOL_BIN=%q\n' "${LEADSCORE_PROMTOOL_BIN:-$(hack/build-promtool.sh --path)}"
  printf 'export LEADSCORE_KSERVE_DIR=%q\n' "${LEADSCORE_KSERVE_DIR:-$(hack/build-kserve.sh --path)}"
  printf 'export LEADSCORE_KUBERAY_DIR=%q\n' "${LEADSCORE_KUBERAY_DIR:-$(hack/build-kuberay.sh --path)}"
  printf 'export LEADSCORE_NODE_BIN_DIR=%q\n' "${LEADSCORE_NODE_BIN_DIR:-$(hack/build-node.sh --path)}"
  printf 'export LEADSCORE_PG_BIN_DIR=%q\n' "${LEADSCORE_PG_BIN_DIR:-$pg_bin}"
  exit 0
fi

hack/install-debs.sh --node
for build in build-minio.sh build-helm.sh build-control-plane.sh build-promtool.sh build-kserve.sh build-kuberay.sh build-node.sh images.sh; do
  start=$SECONDS
  hack/$build >/dev/null   # returns at once when its version (images: content) is cached
  echo ">> hack/$build: $((SECONDS - start)) s" >&2
done

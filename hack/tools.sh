#!/usr/bin/env bash
# Installs or builds the real servers the tests talk to, each cached under $LEADSCORE_CACHE:
#   kube-apiserver, kube-controller-manager, etcd   hack/build-control-plane.sh (Go module proxy)
# With --env, prints `export` lines naming where they are (hack/test.sh evals them).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${LEADSCORE_CACHE:-$HOME/.cache/leadscore}"
if [ "${1:-}" = "--env" ]; then
  echo "export LEADSCORE_KUBE_BIN_DIR=$(hack/build-control-plane.sh)"
  exit 0
fi
hack/build-control-plane.sh >/dev/null

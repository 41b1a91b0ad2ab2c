#!/usr/bin/env bash
# Builds the pinned promtool (Prometheus's rule checker and rule unit-test runner) from the Go
# module proxy and caches it by version: the chart tests run `promtool check rules` and
# `promtool test rules` on the chart's PrometheusRule. Prometheus 3.x publishes its Go module
# as v0.3MM.P for release 3.MM.P.
# Prints the binary's path on success; with --path, prints it without building.
# Safe to run concurrently (flock); the build is nice'd.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/build-once.sh
source "$(dirname "$0")/lib/build-once.sh"

PROMETHEUS_MODULE_VERSION="${PROMETHEUS_MODULE_VERSION:-v0.316.0}"
DIR="$CACHE/promtool/$PROMETHEUS_MODULE_VERSION"
export GOTOOLCHAIN=local CGO_ENABLED=0

build_promtool() {
  local release="3.${PROMETHEUS_MODULE_VERSION#v0.3}"
  echo ">> building promtool $PROMETHEUS_MODULE_VERSION (Prometheus $release)"
  GOBIN="$1" nice -n 10 go install -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$release" \
    "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION"
}

[ "${1:-}" = "--path" ] || build_once "$DIR" "$CACHE/promtool.lock" build_promtool promtool
echo "$DIR/promtool"

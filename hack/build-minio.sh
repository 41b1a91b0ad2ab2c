#!/usr/bin/env bash
# Builds the pinned MinIO server (the S3-compatible store the integration tests talk to) from
# the Go module proxy and caches it by version. MinIO publishes no semver tags, so the pin is
# the module proxy's pseudo-version of a commit on its main branch.
# Prints the binary's path on success; with --path, prints it without building (the test
# fixtures ask this way, so the version pin lives here only). Safe to run concurrently (flock).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/build-once.sh
source "$(dirname "$0")/lib/build-once.sh"

MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
DIR="$CACHE/minio/$MINIO_VERSION"
export GOTOOLCHAIN=local CGO_ENABLED=0

build_minio() {
  echo ">> building minio $MINIO_VERSION"
  GOBIN="$1" nice -n 10 go install -trimpath -ldflags "-s -w" "github.com/minio/minio@$MINIO_VERSION"
}

[ "${1:-}" = "--path" ] || build_once "$DIR" "$CACHE/minio.lock" build_minio minio
echo "$DIR/minio"

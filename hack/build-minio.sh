#!/usr/bin/env bash
# Builds the pinned MinIO server (the S3-compatible store the integration tests talk to) from
# the Go module proxy and caches it by version. MinIO publishes no semver tags, so the pin is
# the module proxy's pseudo-version of a commit on its main branch.
# Prints the binary's path on success; with --path, prints it without building (the test
# fixtures ask this way, so the version pin lives here only). Safe to run concurrently (flock).
set -euo pipefail

MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
CACHE="${LEADSCORE_CACHE:-$HOME/.cache/leadscore}"
DIR="$CACHE/minio/$MINIO_VERSION"
export GOTOOLCHAIN=local CGO_ENABLED=0

if [ "${1:-}" = "--path" ] || [ -x "$DIR/minio" ]; then echo "$DIR/minio"; exit 0; fi

mkdir -p "$CACHE"
exec 9>"$CACHE/minio.lock"
flock 9
if [ -x "$DIR/minio" ]; then echo "$DIR/minio"; exit 0; fi

tmp="$DIR.tmp"
rm -rf "$tmp" && mkdir -p "$tmp"
echo ">> building minio $MINIO_VERSION" >&2
GOBIN="$tmp" nice -n 10 go install -trimpath -ldflags "-s -w" "github.com/minio/minio@$MINIO_VERSION" >&2
rm -rf "$DIR" && mv "$tmp" "$DIR"
echo "$DIR/minio"

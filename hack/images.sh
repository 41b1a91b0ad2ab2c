#!/usr/bin/env bash
# `make images`: builds leadscore's images with buildah from the project's own Dockerfiles, with no
# Docker engine and no registry, and caches each as an image archive keyed by the hash of what
# went into it, so an unchanged image is never rebuilt (CI restores them from ~/.cache/leadscore).
#
#   hack/images.sh [--path] [--load ADDRESS] [NAME...]
#     NAME       operator trainer trainer-ray predictor collector console storage-initializer (KServe's, from PyPI),
#                agent (KServe's, from hack/build-kserve.sh), kuberay (KubeRay's operator, from
#                hack/build-kuberay.sh, for the node tests' RayJobs), pause and coredns (the test node's,
#                from hack/build-node.sh), minio (hack/build-minio.sh's server, for the node
#                tests and the chart's bundled MinIO), postgresql and mlflow (the chart's bundled
#                database and tracking server, from hack/images/); default: all of them
#     --path     print "NAME ARCHIVE" for each image without building (ARCHIVE may not exist yet)
#     --load A   import the archives into the containerd at socket A, namespace k8s.io (kubelet's)
# Prints "NAME ARCHIVE" lines (docker-archive tarballs tagged docker.io/leadscore/NAME:dev).
#
# Python images build FROM a local Debian base (hack/images/base.sh, debootstrap) passed as
# BASE_IMAGE; the Dockerfiles default to python:3.11-slim, so `docker build` is unchanged.
# pip installs through the host's CA bundle, mounted read-only for the build only (a TLS-
# inspecting proxy may sit in between); it is never copied into an image.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR source=lib/build-once.sh
source hack/lib/build-once.sh

STORE="$CACHE/images"
ARCHIVES="$STORE/archives"
TAG="${TAG:-dev}"
CA_BUNDLE="${LEADSCORE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
BUILDAH="buildah --storage-driver vfs --root $STORE/storage --runroot /run/leadscore-buildah"
export BUILDAH
read -r -a buildah <<<"$BUILDAH"

# name | Dockerfile | context | build args. The context is . (the repo), a build script whose output
# directory holds BINARY, or a directory of this repo (staged with constraints.txt beside its files)
# (the repo's Dockerfile has one target per Python image, named like the image; ON=NAME: built on
# image NAME of the same tree, passed as the build arg NAME_IMAGE, so NAME must come earlier)
IMAGES=(
  "pause|hack/images/binary.Dockerfile|hack/build-node.sh|BINARY=pause UID=65535"
  "coredns|hack/images/binary.Dockerfile|hack/build-node.sh|BINARY=coredns"
  "operator|Dockerfile|.|EXTRAS=operator"
  "trainer|Dockerfile|.|EXTRAS=trainer"
  "trainer-ray|Dockerfile|.|ON=trainer"
  "predictor|Dockerfile|.|EXTRAS=predictor"
  "collector|Dockerfile|.|EXTRAS=collector"
  "console|Dockerfile|.|EXTRAS=console"
  "storage-initializer|storage-initializer/Dockerfile|.|"
  "agent|hack/images/binary.Dockerfile|hack/build-kserve.sh|BINARY=agent UID=1000"
  "kuberay|hack/images/binary.Dockerfile|hack/build-kuberay.sh|BINARY=ray-operator"
  "minio|hack/images/binary.Dockerfile|hack/build-minio.sh|BINARY=minio UID=1000"
  "postgresql|hack/images/postgresql.Dockerfile|hack/images|"
  "mlflow|hack/images/mlflow.Dockerfile|hack/images|"
)
# What the repo context's Dockerfiles COPY (.dockerignore lets only these through).
REPO_CONTEXT=(pyproject.toml constraints.txt src storage-initializer/initializer-entrypoint)

path_only=0 load=""
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --path) path_only=1 ;;
    --load) load="$2"; shift ;;
    -*) echo "images.sh: unknown option $1" >&2; exit 2 ;;
    *) names+=("$1") ;;
  esac
  shift
done

files_hash() {  # FILE|DIR...: one hash of the content and names of every file below them (what .dockerignore
  # keeps out is not hashed: bytecode, and the egg-info an editable install writes from README.md)
  find "$@" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' ! -path '*.egg-info/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
}
BASE_IMAGE="localhost/leadscore/python-base:$(files_hash hack/images/base.sh)"

ensure_base() {
  "${buildah[@]}" inspect --type image "$BASE_IMAGE" >/dev/null 2>&1 && return 0
  echo ">> building the local base image $BASE_IMAGE" >&2
  hack/images/base.sh "$BASE_IMAGE"
}

uses_base() { [ "$1" = "." ] || [ -d "$1" ]; }  # CONTEXT: the image builds FROM the local base

context_dir() {  # CONTEXT: the directory buildah is given (a build script's output, or its binary's folder)
  local path
  if [ "$1" = "." ]; then echo .; return; fi
  if [ -d "$1" ]; then   # a directory of the repo, with the pins its pip installs follow
    path="$(mktemp -d)"
    cp -a "$1/." constraints.txt "$path/"
    echo "$path"; return
  fi
  path="$("$1" --path)"
  if [ -d "$path" ]; then echo "$path"; else dirname "$path"; fi
}

binary_of() { sed -n 's/.*BINARY=\([^ ]*\).*/\1/p' <<<"$1"; }
base_of() { sed -n 's/.*ON=\([^ ]*\).*/\1/p' <<<"$1"; }   # ARGS: the image an ON= image builds on

image_hash() {  # DOCKERFILE CONTEXT ARGS; fails when the context's binary is not built yet
  local dockerfile="$1" context="$2" args="$3" binary
  if [ "$context" = "." ]; then
    { files_hash "$dockerfile" "${REPO_CONTEXT[@]}"; echo "$BASE_IMAGE $args"; } | sha256sum | cut -c1-16
  elif [ -d "$context" ]; then
    { files_hash "$dockerfile" "$context" constraints.txt; echo "$BASE_IMAGE $args"; } | sha256sum | cut -c1-16
  else
    binary="$(context_dir "$context")/$(binary_of "$args")"
    [ -f "$binary" ] || return 1
    { files_hash "$dockerfile" "$binary"; echo "$args"; } | sha256sum | cut -c1-16
  fi
}

declare -A ARCHIVE_OF=()   # NAME -> the archive this run built or found for it (an ON= image's base)

build_image() {  # NAME DOCKERFILE CONTEXT ARGS ARCHIVE
  local name="$1" dockerfile="$2" context="$3" args="$4" archive="$5" dir ref="docker.io/leadscore/$1:$TAG"
  local bud=(bud --network host --layers=false --file "$dockerfile" --tag "$ref")
  local arg
  for arg in $args; do bud+=(--build-arg "$arg"); done
  [ "$dockerfile" != Dockerfile ] || bud+=(--target "$name")
  local on on_ref=""
  on="$(base_of "$args")"
  if [ -n "$on" ]; then   # the image it builds on, from its archive (built earlier in this run)
    on_ref="docker.io/leadscore/$on:$TAG"
    "${buildah[@]}" pull --quiet "docker-archive:${ARCHIVE_OF[$on]}" >/dev/null
    bud+=(--build-arg "$(tr 'a-z-' 'A-Z_' <<<"$on")_IMAGE=$on_ref")
  fi
  if uses_base "$context"; then
    ensure_base
    bud+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
    [ ! -f "$CA_BUNDLE" ] || bud+=(--volume "$CA_BUNDLE:$CA_BUNDLE:ro")
  fi
  dir="$(context_dir "$context")"
  echo ">> buildah bud $ref from $dockerfile" >&2
  local start=$SECONDS
  nice "${buildah[@]}" "${bud[@]}" "$dir" >&2
  [ "$context" = "." ] || [ ! -d "$context" ] || rm -rf "$dir"
  rm -f "$archive.tmp"
  "${buildah[@]}" push "$ref" "docker-archive:$archive.tmp:$ref" >&2
  "${buildah[@]}" rmi "$ref" >/dev/null
  [ -z "$on_ref" ] || "${buildah[@]}" rmi "$on_ref" >/dev/null
  "${buildah[@]}" rmi --prune >/dev/null 2>&1 || true
  # this image's older archives only: NAME-<16 hex>.tar (trainer-*.tar would take trainer-ray's too)
  find "$ARCHIVES" -maxdepth 1 -name "$name-????????????????.tar" ! -name "$(basename "$archive")" -delete
  mv "$archive.tmp" "$archive"
  echo ">> $ref: $((SECONDS - start)) s, $(du -m "$archive" | cut -f1) MiB" >&2
}

# an image built ON another needs that one first (IMAGES lists it earlier)
for entry in "${IMAGES[@]}"; do
  IFS='|' read -r name dockerfile context args <<<"$entry"
  on="$(base_of "$args")"
  if [ -n "$on" ] && [[ " ${names[*]} " == *" $name "* ]] && [[ " ${names[*]} " != *" $on "* ]]; then
    names+=("$on")
  fi
done

mkdir -p "$ARCHIVES"
exec 8>"$STORE.lock"
[ "$path_only" = 1 ] || flock 8   # one build at a time: buildah's vfs store and the archives
for entry in "${IMAGES[@]}"; do
  IFS='|' read -r name dockerfile context args <<<"$entry"
  if [ "${#names[@]}" -gt 0 ] && [[ " ${names[*]} " != *" $name "* ]]; then continue; fi
  if ! uses_base "$context" && [ ! -x "$context" ]; then
    echo ">> skipping $name: $context is not in this checkout" >&2; continue
  fi
  if ! hash="$(image_hash "$dockerfile" "$context" "$args")"; then
    [ "$path_only" = 1 ] && continue
    "$context" >/dev/null   # build the binary first
    hash="$(image_hash "$dockerfile" "$context" "$args")"
  fi
  archive="$ARCHIVES/$name-$hash.tar"
  ARCHIVE_OF[$name]="$archive"
  if [ "$path_only" = 0 ] && [ ! -f "$archive" ]; then
    build_image "$name" "$dockerfile" "$context" "$args" "$archive"
  fi
  if [ -n "$load" ]; then
    echo ">> ctr import $name into $load (namespace k8s.io)" >&2
    ctr --address "$load" --namespace k8s.io images import "$archive" >/dev/null
  fi
  echo "$name $archive"
done

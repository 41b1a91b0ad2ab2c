#!/usr/bin/env bash
# Builds the local Python base image in buildah's storage, close to the public python:3.11-slim
# (Debian bookworm, Python 3.11, pip, /usr/local/bin/python and pip) from Debian's archive with
# debootstrap: no container registry is reachable here. Usage: base.sh IMAGE (buildah's global
# options come from $BUILDAH, set by hack/images.sh). Runs as root.
#   - minbase + python3, pip, venv, libgomp1 (XGBoost/LightGBM), ca-certificates;
#   - PEP 668's EXTERNALLY-MANAGED marker removed (the image is the environment, as in python:*-slim);
#   - apt lists and caches dropped.
set -euo pipefail
image="$1"
read -r -a buildah <<<"$BUILDAH"
SUITE="${DEBIAN_SUITE:-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

rootfs="$(mktemp -d)"
container=""
cleanup() {
  [ -z "$container" ] || "${buildah[@]}" rm "$container" >/dev/null 2>&1 || true
  rm -rf "$rootfs"
}
trap cleanup EXIT

echo ">> debootstrap $SUITE (minbase + python3) from $MIRROR" >&2
debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,libgomp1,ca-certificates \
  "$SUITE" "$rootfs" "$MIRROR" >&2
rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python3"
ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/* "$rootfs"/usr/share/doc/* \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
find "$rootfs/usr/lib" -name __pycache__ -type d -prune -exec rm -rf {} +

echo ">> committing $image" >&2
container="$("${buildah[@]}" from scratch)"
mount="$("${buildah[@]}" mount "$container")"
cp -a "$rootfs/." "$mount/"
"${buildah[@]}" umount "$container" >/dev/null
"${buildah[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env LANG=C.UTF-8 --cmd python3 "$container"
"${buildah[@]}" commit --rm "$container" "$image" >&2
container=""

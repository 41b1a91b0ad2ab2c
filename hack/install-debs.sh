#!/usr/bin/env bash
# Installs the Debian packages the tests need: PostgreSQL's server binaries (whose initdb/postgres
# the postgres_server fixture runs as the unprivileged `postgres` user); with --node also the
# container runtime, networking and image tools of the `node` tests (tests/support/node.py) and
# `make images` (hack/images.sh).
# Idempotent and quiet when everything is installed; runs `apt-get update` once, only when
# something is missing. Needs root (CI runs as root) or sudo.
set -euo pipefail

PACKAGES=(postgresql)
if [ "${1:-}" = "--node" ]; then
  # containerd + runc run the pods; the CNI plugins (bridge, host-local, portmap, loopback) wire
  # them; kube-proxy programs iptables; socat carries loopback into the node's network namespace;
  # buildah builds the images from the Dockerfiles, debootstrap their local Debian base.
  PACKAGES+=(containerd runc containernetworking-plugins iptables socat buildah debootstrap)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
  echo "error: missing Debian packages ${missing[*]} and not root (no sudo): install them, or set LEADSCORE_TEST_POSTGRES_URL" >&2
  exit 1
fi
echo ">> apt-get install ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
# The package starts a system-wide cluster on port 5432 where a service manager exists; the
# tests start their own, so nothing else needs doing here.

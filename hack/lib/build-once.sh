# shellcheck shell=bash
# Sourced by hack/build-*.sh: build a pinned tool at most once per version, even when several
# test runs ask at the same time, and never leave a half-built cache entry behind.

# shellcheck disable=SC2034  # read by the scripts that source this file
CACHE="$(realpath -m "${LEADSCORE_CACHE:-$HOME/.cache/leadscore}")"

# build_once DIR LOCK BUILD EXE...
#   Unless every EXE is an executable in DIR: take the lock file LOCK, call `BUILD OUTDIR`
#   (its output goes to stderr, OUTDIR starts empty), then move OUTDIR to DIR in one rename.
#   A build that fails or is interrupted leaves DIR as it was.
build_once() {
  local dir="$1" lock="$2" build="$3"
  shift 3
  _all_built "$dir" "$@" && return 0
  mkdir -p "$(dirname "$lock")"
  exec 9>"$lock"
  flock 9
  _all_built "$dir" "$@" && return 0   # another run built it while we waited
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  "$build" "$dir.tmp" >&2
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

_all_built() {
  local dir="$1" exe
  shift
  for exe in "$@"; do [ -x "$dir/$exe" ] || return 1; done
}

#!/usr/bin/env bash
# Creates (once) the virtualenv of the MLServer peer in the serving benchmark (bench/serve_bench.py).
# It is separate from .venv because MLServer 1.7 pins fastapi/starlette versions that KServe 0.21
# cannot use. uvloop is pinned below 0.22: MLServer 1.7's worker pool dies with later releases.
# Prints the venv's python on stdout.
set -euo pipefail
CACHE="${LEADSCORE_CACHE:-$HOME/.cache/leadscore}"
VENV="${MLSERVER_VENV:-$CACHE/venv-mlserver}"
PYTHON="${PYTHON:-python3}"
PINS=("mlserver==1.7.1" "mlserver-lightgbm==1.7.1" "uvloop<0.22")
mkdir -p "$CACHE"
exec 9>"$CACHE/venv-mlserver.lock"
flock 9
want="$(printf '%s\n' "${PINS[@]}" | sha256sum | cut -c1-16)"
if [ ! -f "$VENV/.stamp" ] || [ "$(cat "$VENV/.stamp")" != "$want" ]; then
  echo ">> creating $VENV (${PINS[*]})" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --progress-bar off --upgrade pip >&2
  "$VENV/bin/pip" install --quiet --progress-bar off "${PINS[@]}" >&2
  echo "$want" > "$VENV/.stamp"
fi
echo "$VENV/bin/python"

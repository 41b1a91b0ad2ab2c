#!/usr/bin/env bash
# Creates or refreshes the project virtualenv (.venv) with every extra installed.
# Re-runs pip only when pyproject.toml changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
CACHE="${LEADSCORE_CACHE:-$HOME/.cache/leadscore}"
mkdir -p "$CACHE"
exec 9>"$CACHE/venv.lock"
flock 9
want="$(sha256sum pyproject.toml | cut -c1-16)"
if [ -f "$VENV/.stamp" ] && [ "$(cat "$VENV/.stamp")" = "$want" ]; then exit 0; fi
if [ ! -x "$VENV/bin/python" ]; then
  echo ">> creating $VENV" >&2
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip wheel setuptools
fi
echo ">> installing leadscore[dev] into $VENV (first time: several minutes)" >&2
"$VENV/bin/pip" install --quiet --progress-bar off -e ".[dev]"
echo "$want" > "$VENV/.stamp"

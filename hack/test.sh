#!/usr/bin/env bash
# Runs the whole suite: lint (ruff, import-linter layering, mypy), then pytest with the real servers
# that hack/tools.sh built, found through the LEADSCORE_* variables its --env prints.
# pytest's exit code 5 ("no tests collected", e.g. a -k that matches nothing) is reported
# loudly and turned into success, so a narrowed run (-k, -m) that selects nothing is not an error.
set -uo pipefail
cd "$(dirname "$0")/.."
eval "$(hack/tools.sh --env)"
.venv/bin/ruff check src tests bench || exit 1
.venv/bin/lint-imports --no-cache >/dev/null || { .venv/bin/lint-imports --no-cache; exit 1; }
.venv/bin/mypy || exit 1
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 0
fi
exit "$rc"

#!/usr/bin/env bash
# The checks CI runs (.ci/run), in order: ruff check, ruff format --check, mypy --strict (its
# settings are in pyproject.toml), then the whole test suite. Run from a checkout with the dev
# extra installed in .venv:   tools/check.sh          lint, types, then tests
#                             tools/check.sh --lint   lint and types only
# Extra arguments go to pytest (tools/check.sh -x -q). Stops at the first step that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
paths=(src tests benchmarks tools)
lint_only=false
if [[ "${1:-}" == "--lint" ]]; then
    lint_only=true
    shift
fi
echo "+ ruff check" >&2
"$bin/ruff" check "${paths[@]}"
echo "+ ruff format --check" >&2
"$bin/ruff" format --check "${paths[@]}"
echo "+ mypy --strict" >&2
"$bin/mypy" --strict
if ! $lint_only; then
    exec "$bin/python" -m pytest "$@"
fi

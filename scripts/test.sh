#!/usr/bin/env bash
# Sets everything up (test tools, Debian chromium and postgresql included), checks lint and format,
# then runs every test, spread over the CPU cores (pytest-xdist); the 25 slowest are listed last.
#   bash scripts/test.sh                  everything (what CI runs)
#   bash scripts/test.sh --quick          the quick loop: unit and AppTest checks, no test marked
#                                         slow (training processes, scripts, servers, browsers, databases)
#   bash scripts/test.sh tests/unit -x    other arguments go to pytest (-n 0: one process)
set -euo pipefail
cd "$(dirname "$0")/.."
quick=""
if [ "${1:-}" = "--quick" ]; then
  quick=1
  shift
fi
bash scripts/setup.sh --dev
echo "Lint and format check (ruff)..."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Each module runs whole on one worker (tests/conftest.py names its group), so module fixtures
# are made once; --maxprocesses bounds the memory (each worker holds a TensorFlow, ~0.8 GB).
parallel=(-n auto --maxprocesses 4 --dist loadgroup)
if [ -n "$quick" ]; then
  exec .venv/bin/python -m pytest "${parallel[@]}" -m "not slow" --ignore tests/e2e "$@"
fi
exec .venv/bin/python -m pytest "${parallel[@]}" "$@"

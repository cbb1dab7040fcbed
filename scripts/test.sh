#!/usr/bin/env bash
# Sets everything up (test tools, Debian chromium and postgresql included), checks lint and format, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
echo "Lint and format check (ruff)..."
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"

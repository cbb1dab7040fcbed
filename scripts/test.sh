#!/usr/bin/env bash
# Sets everything up (test tools and Debian chromium included), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
exec .venv/bin/python -m pytest "$@"

#!/usr/bin/env bash
# Sets everything up, then starts the dashboard on http://localhost:8501, for this computer only
# (local mode: everything allowed, no password). To serve other machines, set an owner password
# (README: "Local and public mode") and bind elsewhere: MNIST_ADDRESS=0.0.0.0 scripts/start.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "Starting the dashboard: open the URL Streamlit prints below (Ctrl+C stops it)."
exec .venv/bin/python -m streamlit run app.py --server.address "${MNIST_ADDRESS:-127.0.0.1}" "$@"

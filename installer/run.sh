#!/usr/bin/env bash
# Starts the control tower (with no configuration: the self-contained demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/bootstrap.sh
exec .venv/bin/python main.py "$@"

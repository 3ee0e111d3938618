#!/usr/bin/env bash
# The whole quality gate: ruff, mypy (strict), import contracts, pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/bootstrap.sh dev
echo "== ruff";          .venv/bin/ruff check .
echo "== ruff format";   .venv/bin/ruff format --check .
echo "== mypy";          .venv/bin/mypy
echo "== lint-imports";  .venv/bin/lint-imports
echo "== pytest";        .venv/bin/python -m pytest -q "$@"

#!/usr/bin/env bash
# Sets everything up, then runs linters, the type checker and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
.venv/bin/ruff check audit tests benchmarks
.venv/bin/mypy
.venv/bin/python -m pytest -n 2 "$@"

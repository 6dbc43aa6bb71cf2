#!/usr/bin/env bash
# Sets everything up, then runs linters, the type checker and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
.venv/bin/ruff check audit tests benchmarks
.venv/bin/mypy
# --dist loadgroup: the Spark tests (one xdist group) share one worker, so one JVM starts.
.venv/bin/python -m pytest -n 2 --dist loadgroup "$@"

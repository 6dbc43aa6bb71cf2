#!/usr/bin/env bash
# Sets everything up, then runs the embedded default audit end to end:
# synthetic population -> model (registered in mlruns/) -> audit -> reports/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m audit.demo "$@"

#!/usr/bin/env bash
# Sets everything up, then runs the embedded default audit end to end (examples/belgian-profiling.yaml):
# synthetic population -> reference model (registered in mlruns/) -> audit -> MLflow run -> reports/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh report   # pango and fonts for the PDF report, when missing
bash scripts/setup.sh
status=0
.venv/bin/audit run examples/belgian-profiling.yaml "$@" || status=$?
if [ "$status" -eq 1 ] || [ "$status" -eq 3 ]; then
  # Exit 1 (fail) or 3 (inconclusive) is the gate's verdict, not a breakdown: this population
  # has every harm injected, so the gate must not pass.
  echo "The release gate did not pass, as it must not on this population: every harm is injected."
  echo "Results: reports/belgian-profiling/ (report.html and .pdf in fr, nl, en; summary.md, verdict.json, assessment.json, junit.xml)"
  echo "MLflow UI: .venv/bin/mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db"
  exit 0
fi
exit "$status"

#!/usr/bin/env bash
# Runs the demo audit (examples/belgian-profiling.yaml) and commits-ready copies its published
# report, in French, Dutch and English (HTML and PDF), with the result it was made from, to
# reports/examples/belgian-profiling/. tests/report/test_examples.py fails when these files are
# out of date with the templates and catalogues: run this script, then commit the folder.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
audit=${AUDIT:-$repo/.venv/bin/audit}
dest=$repo/reports/examples/belgian-profiling
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# In a scratch folder: the demo trains and registers its model in a store of its own there.
cd "$work"
set +e
"$audit" run "$repo/examples/belgian-profiling.yaml" --out "$work/run" --lang fr,nl,en
code=$?
set -e
if [ "$code" -ne 0 ] && [ "$code" -ne 1 ] && [ "$code" -ne 3 ]; then  # 1, 3: a verdict, not an error
  echo "the demo audit could not run (exit $code)" >&2
  exit "$code"
fi
rm -rf "$dest"
mkdir -p "$dest"
for f in assessment.json verdict.json checks.json manifest.json spec.yaml summary.md \
         report.fr.html report.nl.html report.en.html report.fr.pdf report.nl.pdf report.en.pdf; do
  cp "$work/run/$f" "$dest/$f"
done
echo "wrote $dest"

#!/usr/bin/env bash
# Extracts the report's messages (templates and code) with Babel and merges them into the
# French, Dutch and English catalogues. Translate the new entries (and those marked fuzzy) in
# audit/report/locale/<lang>/LC_MESSAGES/audit.po; tests/report/test_catalogues.py fails while
# one is missing. Catalogues are compiled when the report is made; there is no .mo to commit.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-.venv/bin/pybabel}
pot=$(mktemp --suffix=.pot)
trap 'rm -f "$pot"' EXIT
"$PYBABEL" extract --no-location --sort-output -F audit/report/babel.cfg -k N_ -o "$pot" \
  --project=employment-fairness-audit audit/report
for lang in fr nl en; do
  po=audit/report/locale/$lang/LC_MESSAGES/audit.po
  if [ -f "$po" ]; then
    "$PYBABEL" update -i "$pot" -D audit -l "$lang" -d audit/report/locale --ignore-obsolete
  else
    "$PYBABEL" init -i "$pot" -D audit -l "$lang" -d audit/report/locale
  fi
done

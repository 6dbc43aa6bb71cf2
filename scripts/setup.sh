#!/usr/bin/env bash
# Creates .venv with the package. Usage: setup.sh [runtime|dev]
#   runtime (default): what `audit` needs to run, for scripts/demo.sh;
#   dev: also the test tools (pytest, fairlearn, aif360, ruff, mypy...), for scripts/test.sh.
# Safe to run again: each mode keeps a stamp of the pyproject.toml it installed, and installs
# again only when that file changed. A dev install also satisfies runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-runtime}
case "$mode" in
  runtime) extras="" ;;
  dev) extras="[dev]" ;;
  *) echo "usage: bash scripts/setup.sh [runtime|dev]" >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
hash=$(sha256sum pyproject.toml | cut -c1-16)
stamp=.venv/.installed-$mode-$hash
if [ -f "$stamp" ] || { [ "$mode" = runtime ] && [ -f ".venv/.installed-dev-$hash" ]; }; then
  exit 0
fi
.venv/bin/pip install --quiet --upgrade pip >/dev/null
.venv/bin/pip install --quiet -e ".$extras"
rm -f .venv/.installed-"$mode"-*
touch "$stamp"

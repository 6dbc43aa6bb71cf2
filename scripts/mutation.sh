#!/usr/bin/env bash
# Mutation testing of the statistical core with cosmic-ray (issue 14). Not part of CI: it runs
# each module's relevant tests once per mutant, which takes minutes per module.
#
#   pip install cosmic-ray==8.7.0          # into the project's venv; not in the `dev` extra, so
#                                          # the CI environment stays as it is
#   scripts/mutation.sh                    # the default scope (the modules mapped below)
#   scripts/mutation.sh audit/metrics/bounds.py audit/metrics/intervals.py
#
# Environment: PYTHON (default .venv/bin/python, else python3), MUTATION_TIMEOUT (seconds per
# mutant, default 120; a mutant that makes the tests hang counts as killed), MUTATION_KEEP=1
# keeps the work directory (the sessions' sqlite files, for `cr-report`).
#
# cosmic-ray writes each mutant into the source file on disk, so it works on a copy of the
# checkout in a temporary directory: an interrupted run never leaves a mutant in the tree.
# For each module, the run prints every surviving mutant (operator, line, diff) and the score.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-}
if [[ -z $py ]]; then
    if [[ -x $root/.venv/bin/python ]]; then py=$root/.venv/bin/python; else py=python3; fi
fi
bin=$(dirname "$("$py" -c 'import sys; print(sys.executable)')")
if [[ ! -x $bin/cosmic-ray ]]; then
    echo "cosmic-ray is not installed next to $py: pip install cosmic-ray==8.7.0" >&2
    exit 2
fi
timeout_s=${MUTATION_TIMEOUT:-120}

# The tests that exercise each module, fastest and most direct first: with -x the first failing
# test ends the run, so most mutants are killed in a few seconds.
tests_for() {
    case $1 in
        audit/metrics/intervals.py) echo tests/stats/test_edges_by_hand.py tests/stats/test_core_mutants.py \
            tests/stats/test_metrics_by_hand.py tests/stats/test_interval_contains_estimate.py \
            tests/stats/test_coverage_small_groups.py tests/stats/test_within_strata.py \
            tests/stats/test_significance.py ;;
        audit/metrics/significance.py) echo tests/stats/test_edges_by_hand.py tests/stats/test_core_mutants.py \
            tests/stats/test_reliability.py tests/stats/test_significance.py \
            tests/gate/test_gate_mutants.py tests/stats/test_paired.py ;;
        audit/metrics/bounds.py) echo tests/stats/test_edges_by_hand.py \
            tests/gate/test_named_disparity_rules.py tests/stats/test_peer_conventions.py \
            tests/gate/test_gate.py ;;
        audit/metrics/definitions.py) echo tests/stats/test_core_mutants.py \
            tests/stats/test_metrics_by_hand.py tests/stats/test_invariance.py \
            tests/stats/test_reliability.py tests/stats/test_properties.py \
            tests/stats/test_bootstrap.py tests/stats/test_paired.py ;;
        *) return 1 ;;
    esac
}
default_scope=(audit/metrics/intervals.py audit/metrics/significance.py audit/metrics/bounds.py
    audit/metrics/definitions.py)
scope=("$@")
[[ ${#scope[@]} -gt 0 ]] || scope=("${default_scope[@]}")

# Operators left out, each for a stated reason (one regex per line for cr-filter-operators):
# - an arithmetic operator becomes only its inverse (+ and -, * and /, ** to *), `|` and `&`
#   each other: cosmic-ray's full table (every operator to each of the 12 others: shifts, modulo,
#   xor...) is ~4x the mutants, and on float arrays the others raise TypeError at once;
# - `is`/`is not` in place of a comparison: on numpy arrays they give one bool that numpy
#   rejects, or that fails at once;
# - VariableReplacer/VariableInserter: random names and numbers, not reproducible across runs;
# - RemoveDecorator: the only decorators in scope are typing `@overload`s (no runtime effect).
excluded='exclude-operators = [
    "core/ReplaceBinaryOperator_(?!(Add_Sub|Sub_Add|Mul_Div|Div_Mul|Pow_Mul|BitOr_BitAnd|BitAnd_BitOr)$)",
    "core/ReplaceComparisonOperator_.*_(Is|IsNot)$",
    "core/ReplaceComparisonOperator_(Is|IsNot)_.*",
    "core/VariableReplacer",
    "core/VariableInserter",
    "core/RemoveDecorator",
]'

# Mutants inside type annotations are skipped: every module in scope has
# `from __future__ import annotations`, so annotations are strings never evaluated at run time
# (`float | np.ndarray` -> `float & np.ndarray` is equivalent by construction).
skip_annotations() {
    "$py" - "$1" <<'EOF'
import ast
import sys
from pathlib import Path

from cosmic_ray.work_db import use_db
from cosmic_ray.work_item import WorkerOutcome, WorkResult


def spans(path: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    tree = ast.parse(path.read_text())
    notes = [a.annotation for a in ast.walk(tree) if isinstance(a, ast.arg | ast.AnnAssign)]
    notes += [f.returns for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)]
    return [((n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset))
            for n in notes if n is not None]


with use_db(sys.argv[1]) as db:
    cache: dict[str, list] = {}
    for item in list(db.pending_work_items):
        m = item.mutations[0]
        where = cache.setdefault(str(m.module_path), spans(Path(m.module_path)))
        if any(lo <= tuple(m.start_pos) and tuple(m.end_pos) <= hi for lo, hi in where):
            db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED,
                                                  output="in a type annotation"))
EOF
}

work=$(mktemp -d "${TMPDIR:-/tmp}/mutation.XXXXXX")
if [[ ${MUTATION_KEEP:-0} != 1 ]]; then trap 'rm -rf "$work"' EXIT; fi
(cd "$root" && tar --exclude=__pycache__ -cf - audit tests pyproject.toml) | tar -xf - -C "$work"
cd "$work"
export PYTHONPATH=$work PYTHONDONTWRITEBYTECODE=1

for module in "${scope[@]}"; do
    if ! tests=$(tests_for "$module"); then
        echo "no test map for $module: add it to tests_for in $0" >&2
        exit 2
    fi
    name=$(basename "$module" .py)
    cat >"$name.toml" <<EOF
[cosmic-ray]
module-path = "$module"
timeout = $timeout_s
excluded-modules = []
test-command = "$py -m pytest -x -q -n 0 -p no:cacheprovider $tests"

[cosmic-ray.distributor]
name = "local"

[cosmic-ray.filters.operators-filter]
$excluded
EOF
    "$bin/cosmic-ray" init "$name.toml" "$name.sqlite" >/dev/null
    "$bin/cr-filter-operators" "$name.sqlite" "$name.toml" >/dev/null
    "$bin/cr-filter-pragma" "$name.sqlite" >/dev/null
    skip_annotations "$name.sqlite"
    # The unmutated module must pass its tests, or every mutant would count as killed.
    if ! "$bin/cosmic-ray" baseline "$name.toml" >/dev/null 2>&1; then
        echo "$module: the tests fail without any mutant: $tests" >&2
        exit 1
    fi
    "$bin/cosmic-ray" exec "$name.toml" "$name.sqlite"
    "$py" - "$name.sqlite" "$module" <<'EOF'
import json
import subprocess
import sys

db, module = sys.argv[1:]
cr_bin = sys.executable.rsplit("/", 1)[0]
dump = subprocess.run([f"{cr_bin}/cosmic-ray", "dump", db], capture_output=True, text=True,
                      check=True).stdout
killed = survived = 0
for line in dump.splitlines():
    item, result = json.loads(line)
    if result is None or result["worker_outcome"] == "skipped":
        continue
    if result["test_outcome"] == "killed":
        killed += 1
        continue
    if result["test_outcome"] == "incompetent":  # the mutant could not be run: not scored
        print(f"INCOMPETENT {item['mutations'][0]['operator_name']}: {result.get('output')}")
        continue
    survived += 1
    m = item["mutations"][0]
    print(f"SURVIVED {module}:{m['start_pos'][0]} {m['operator_name']} #{m['occurrence']}")
    print(result.get("diff") or "")
total = killed + survived
print(f"SCORE {module}: {killed}/{total} killed ({100 * killed / max(total, 1):.1f}%)")
EOF
done

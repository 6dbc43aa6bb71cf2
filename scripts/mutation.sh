#!/usr/bin/env bash
# Mutation testing of the statistical core, the gate and the file safety with mutmut 3 (issue 14).
# Not part of CI: it takes an hour or more on two cores.
#
#   pip install mutmut==3.8.1             # into the project's venv; not in the `dev` extra, so
#                                         # the CI environment stays as it is
#   nice -n 19 scripts/mutation.sh        # run (or resume) over the whole scope, then report
#   scripts/mutation.sh --report          # only print the survivors and the scores so far
#
# Why mutmut: it imports the code and the tests once, forks one worker per mutant (no new
# interpreter, no new pytest start) and runs only the tests that reach the mutated function,
# fastest first with -x, so most mutants die in well under a second.
# mutmut mutates function and method bodies only: module-level tables and decorated functions
# (`@lru_cache`, `@contextmanager`, `@property`, `@cache`) are left alone by the tool; see
# tests/MUTANTS.md for how those are covered.
#
# Environment: PYTHON (default .venv/bin/python, else python3); MUTATION_WORK (default
# .mutation-logs/work, kept between runs so an interrupted run resumes where it stopped; mutmut
# retests only functions whose code changed); MUTATION_CHILDREN (parallel workers, default 2).
#
# mutmut writes its mutants into `mutants/` beside the code it runs on, so the script works on a
# copy of the checkout: the tree is never touched.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-}
if [[ -z $py ]]; then
    if [[ -x $root/.venv/bin/python ]]; then py=$root/.venv/bin/python; else py=python3; fi
fi
bin=$(dirname "$("$py" -c 'import sys; print(sys.executable)')")
if [[ ! -x $bin/mutmut ]]; then
    echo "mutmut is not installed next to $py: pip install mutmut==3.8.1" >&2
    exit 2
fi
work=${MUTATION_WORK:-$root/.mutation-logs/work}
children=${MUTATION_CHILDREN:-2}
report_only=0
[[ ${1:-} == --report ]] && report_only=1

# The scope of issue 14. The tests are those that exercise it directly; the pipeline, spec and
# sink suites (MLflow servers, browsers) are left out: they reach the core only through it.
scope='["audit/stats/*", "audit/metrics/*", "audit/gate.py", "audit/files.py",
    "audit/tracking/naming.py", "audit/models/importing.py"]'
tests='["tests/stats", "tests/gate", "tests/files", "tests/tracking/test_naming.py",
    "tests/models/test_decisions_values.py", "tests/models/test_bad_input.py"]'

mkdir -p "$work"
if [[ $report_only == 0 ]]; then
    # --delete so a removed test or module leaves the copy too; mutants/ is mutmut's state.
    rsync -a --delete --exclude=__pycache__ --exclude=mutants/ \
        --include='/audit/***' --include='/tests/***' --include='/examples/***' \
        --include='/datasets/***' --include='/models/***' --include=/pyproject.toml \
        --include=/README.md --exclude='*' "$root/" "$work/"
    cat >>"$work/pyproject.toml" <<TOML

[tool.mutmut]
source_paths = ["audit"]
only_mutate = $scope
also_copy = ["examples", "datasets", "models", "README.md"]
pytest_add_cli_args_test_selection = $tests
pytest_add_cli_args = ["-n", "0", "-p", "no:cacheprovider"]
TOML
    cd "$work"
    # Subprocesses started by the tests (`python -m audit.cli`) import the mutated copy too.
    PYTHONPATH=$work/mutants PYTHONDONTWRITEBYTECODE=1 \
        "$bin/mutmut" run --max-children "$children"
fi

cd "$work"
# One line per surviving mutant (with its diff), then the score of every module.
"$py" - <<'PY'
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from mutmut.stats import status_by_exit_code

mutmut = str(Path(sys.executable).with_name("mutmut"))
scores: dict[str, Counter[str]] = {}
for meta in sorted(Path("mutants/audit").rglob("*.py.meta")):
    module = str(meta.relative_to("mutants"))[: -len(".meta")]
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    count = scores.setdefault(module, Counter())
    for name, code in sorted(codes.items()):
        status = status_by_exit_code[code]
        count[status] += 1
        if status in ("survived", "no tests", "suspicious"):
            diff = subprocess.run([mutmut, "show", name], capture_output=True, text=True).stdout
            print(f"{status.upper()} {name}\n{diff}")
total = Counter()
for module, count in scores.items():
    total += count
    # timeouts count as killed (the mutant made the tests hang); "no tests": no selected test
    # reaches the function, so the mutant survives by definition.
    killed = count["killed"] + count["timeout"] + count["segfault"]
    scored = killed + count["survived"] + count["no tests"] + count["suspicious"]
    left = count["not checked"]
    state = "complete" if left == 0 else f"partial, {left} not run yet"
    print(f"SCORE {module}: {killed}/{scored} killed ({100 * killed / max(scored, 1):.1f}%), {state}")
killed = total["killed"] + total["timeout"] + total["segfault"]
scored = killed + total["survived"] + total["no tests"] + total["suspicious"]
print(f"SCORE all: {killed}/{scored} killed ({100 * killed / max(scored, 1):.1f}%), "
      f"{total['not checked']} not run yet")
PY
